import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseSql } from "./sql_parser.ts";
import { checkStatement, evaluate, type RuleInput } from "./sql_eval.ts";
import { SqlError } from "./sql_lexer.ts";

const enc = new TextEncoder();

function input(payload: string, extra: Partial<RuleInput> = {}): RuleInput {
  return {
    event: "message.publish",
    topic: "sensors/dev1/data",
    payload: enc.encode(payload),
    clientid: "dev1",
    username: "alice",
    qos: 1,
    retain: false,
    timestamp: 1_700_000_000_000,
    ...extra,
  };
}

function run(sql: string, payload: string, extra: Partial<RuleInput> = {}) {
  const s = parseSql(sql);
  checkStatement(s);
  return evaluate(s, input(payload, extra));
}

describe("rule SQL: statements that select", () => {
  const table: Array<[string, string, Record<string, unknown> | null]> = [
    [
      'SELECT payload.temp AS t, clientid, topic FROM "sensors/+/data" WHERE payload.temp > 30',
      '{"temp": 31.5}',
      {
        t: 31.5,
        clientid: "dev1",
        topic: "sensors/dev1/data",
      },
    ],
    ['SELECT payload.temp AS t FROM "sensors/#" WHERE payload.temp > 30', '{"temp": 30}', null],
    ['select payload.a.b[1] as x from "t/#"', '{"a": {"b": [5, 6]}}', { x: 6 }],
    ['SELECT payload.x FROM "t/#"', "not json", { x: null }],
    ['SELECT payload.x FROM "t/#" WHERE payload.x > 1', "{broken", null],
    ["SELECT topic(2) AS dev, topic(9) AS none, topic FROM 's/#'", "", {
      dev: "dev1",
      none: null,
      topic: "sensors/dev1/data",
    }],
    ["SELECT qos, username, timestamp FROM \"#\" WHERE qos IN (1, 2) AND username LIKE 'al%'", "", {
      qos: 1,
      username: "alice",
      timestamp: 1_700_000_000_000,
    }],
    ["SELECT clientid FROM \"#\" WHERE clientid NOT IN ('dev1', 'dev2')", "", null],
    ["SELECT clientid FROM \"#\" WHERE NOT clientid LIKE 'dev_'", "", null],
    ["SELECT clientid FROM \"#\" WHERE clientid LIKE 'd_v1' OR 1 = 2", "", { clientid: "dev1" }],
    ['SELECT (payload.a + 2) * 3 - 1 AS v, payload.a / 4 AS q, payload.a % 2 AS m FROM "#"', '{"a": 2}', {
      v: 11,
      q: 0.5,
      m: 0,
    }],
    ['SELECT -payload.a AS n, payload.a * 1e2 AS big FROM "#"', '{"a": 2}', { n: -2, big: 200 }],
    [
      "SELECT upper(clientid) AS u, concat(clientid, '-', qos) AS c, substr('abcdef', 1, 3) AS s FROM \"#\"",
      "",
      {
        u: "DEV1",
        c: "dev1-1",
        s: "bcd",
      },
    ],
    ["SELECT replace(topic, '/', '.') AS r, length(clientid) AS n, lower('AB') || 'c' AS l FROM \"#\"", "", {
      r: "sensors.dev1.data",
      n: 4,
      l: "abc",
    }],
    ["SELECT payload.s AS s FROM \"#\" WHERE payload.s = '10' AND payload.n = '10'", '{"s": "10", "n": 10}', {
      s: "10",
    }],
    [
      'SELECT payload.missing AS m FROM "#" WHERE payload.missing IS NULL AND payload.a IS NOT NULL',
      '{"a": 1}',
      {
        m: null,
      },
    ],
    ['SELECT payload.t AS t FROM "#" WHERE t >= 20 -- an alias in WHERE\n', '{"t": 20}', { t: 20 }],
    ['SELECT payload.a.b AS b FROM "#" WHERE payload.a.b.c = 1', '{"a": {"b": 7}}', null],
    ['SELECT payload.x AS x FROM "#" WHERE payload.x / 0 > 1', '{"x": 1}', null],
  ];
  for (const [sql, payload, expected] of table) {
    it(`${sql.replace(/\s+/g, " ").slice(0, 90)} with ${payload || "(empty)"}`, () => {
      assert.deepEqual(run(sql, payload), expected);
    });
  }

  it("SELECT * gives the message's variables, the payload as text", () => {
    const out = run('SELECT * FROM "#"', '{"a":1}');
    assert.deepEqual(out, {
      payload: '{"a":1}',
      topic: "sensors/dev1/data",
      clientid: "dev1",
      username: "alice",
      qos: 1,
      retain: false,
      timestamp: 1_700_000_000_000,
      event: "message.publish",
    });
  });

  it("FROM takes several filters and event names", () => {
    const s = parseSql(`SELECT clientid FROM "a/#", '$events/client_connected'`);
    assert.deepEqual(s.sources, ["a/#", "$events/client_connected"]);
  });
});

describe("rule SQL: malformed statements name the line and column", () => {
  const table: Array<[string, RegExp]> = [
    ["", /line 1, column 1: expected SELECT, found the end/],
    ['SELEC x FROM "a"', /line 1, column 1: expected SELECT, found "SELEC"/],
    ['SELECT x "a"', /line 1, column 10: expected FROM, found string "a"/],
    ["SELECT x FROM a", /line 1, column 15: expected a quoted topic filter/],
    ['SELECT x FROM "a" WHERE', /line 1, column 24: expected a value, a field or a function, found the end/],
    ['SELECT x FROM "a"\nWHERE x >', /line 2, column 10: expected a value/],
    ['SELECT x FROM "a" WHERE x IN 1', /column 30: expected "\("/],
    ['SELECT x FROM "a" WHERE (x = 1', /expected "\)"/],
    ['SELECT 1 + 2 FROM "a"', /line 1, column 8: expected AS and a name/],
    ["SELECT x FROM 'a", /line 1, column 15: unterminated string/],
    ['SELECT x FROM "a" WHERE x # 1', /line 1, column 27: unexpected character "#"/],
    ['SELECT x FROM "a" extra', /line 1, column 19: expected the end of the statement, found "extra"/],
    ['SELECT nosuch(x) AS y FROM "a"', /line 1, column 8: unknown function nosuch\(\)/],
    ['SELECT upper(x, y) AS y FROM "a"', /upper\(\) takes 1 arguments, received 2/],
    ['SELECT x AS FROM "a"', /expected FROM, found string "a"|expected a field name/],
    ['SELECT payload. FROM "a"', /line 1, column 22: expected FROM, found string "a"/],
    ['SELECT payload[x] AS y FROM "a"', /expected an index/],
    ['SELECT 12abc AS y FROM "a"', /unexpected "a" after number 12/],
  ];
  for (const [sql, re] of table) {
    it(JSON.stringify(sql), () => {
      assert.throws(() => {
        const s = parseSql(sql);
        checkStatement(s);
      }, (err: unknown) => err instanceof SqlError && re.test(err.message));
    });
  }
});
