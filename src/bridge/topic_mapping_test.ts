import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mappingProblem, mapTopic } from "./topic_mapping.ts";

describe("bridge topic mapping", () => {
  it("swaps the literal prefix both ways", () => {
    assert.equal(mapTopic("sensors/a/t", "sensors/#", "site1/sensors/#"), "site1/sensors/a/t");
    assert.equal(mapTopic("site1/sensors/a/t", "site1/sensors/#", "sensors/#"), "sensors/a/t");
    assert.equal(mapTopic("a/x/c", "a/+/c", "b/d/+/c"), "b/d/x/c");
    assert.equal(mapTopic("x/y", "#", "edge/#"), "edge/x/y");
    assert.equal(mapTopic("cmd/one", "cmd/one", "remote/cmd/1"), "remote/cmd/1");
  });

  it("`a/#` matching `a` itself maps to the other prefix without its slash", () => {
    assert.equal(mapTopic("sensors", "sensors/#", "site1/sensors/#"), "site1/sensors");
  });

  it("refuses filters whose wildcard parts differ", () => {
    assert.equal(mappingProblem("a/#", "b/#"), undefined);
    assert.equal(mappingProblem("a/one", "b/two"), undefined);
    assert.match(mappingProblem("a/#", "b/+") ?? "", /must be the same/);
    assert.match(mappingProblem("a/+/x", "b/+/y") ?? "", /must be the same/);
  });
});
