/**
 * A throw-away PKI for TLS tests, made with Debian's `openssl` in a temporary folder: a CA, a server certificate
 * for 127.0.0.1 / localhost, a client certificate (CN `device-42`), a client certificate without a common name,
 * and a "wrong" client certificate from another CA (CN `intruder`). Keys are EC P-256, so it takes milliseconds.
 *
 * Certificates are X.509 v3 with key usages: Deno's TLS (rustls) refuses v1 client certificates, which
 * `openssl x509 -req` makes when given no extensions (Node and Bun, on OpenSSL/BoringSSL, accept them).
 * @module
 */

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM text and file paths of the test PKI. */
export interface TestPki {
  readonly dir: string;
  readonly files: Record<PkiName, string>;
  readonly pem: Record<PkiName, string>;
  /** Delete the folder. */
  remove(): Promise<void>;
}

type PkiName =
  | "ca"
  | "serverCert"
  | "serverKey"
  | "clientCert"
  | "clientKey"
  | "noCnCert"
  | "noCnKey"
  | "wrongCert"
  | "wrongKey";

/** Common name of the good client certificate. */
export const CLIENT_CN = "device-42";

const OPENSSL_MS = 10_000;

function openssl(dir: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("openssl", args, { cwd: dir, timeout: OPENSSL_MS }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const missing = (error as { code?: unknown }).code === "ENOENT";
      reject(
        new Error(
          missing
            ? "Cannot make test certificates: openssl is not installed (apt-get install -y openssl)"
            : `openssl ${args.join(" ")} failed: ${stderr || error.message}`,
        ),
      );
    });
  });
}

/** Make a new PKI in a fresh temporary folder. Call `remove()` when done. */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), "comqtt-pki-"));
  try {
    await writeFile(
      join(dir, "server.ext"),
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n" +
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    );
    await writeFile(
      join(dir, "client.ext"),
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n" +
        "extendedKeyUsage=clientAuth\n",
    );
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    for (const ca of ["ca", "other-ca"]) {
      await openssl(dir, [
        "req",
        "-x509",
        ...ec,
        "-keyout",
        `${ca}.key`,
        "-out",
        `${ca}.crt`,
        "-days",
        "2",
        "-subj",
        `/CN=comqtt-ts test ${ca}`,
      ]);
    }
    const leaves: Array<[string, string, string, string]> = [
      ["server", "/CN=127.0.0.1", "ca", "server.ext"],
      ["client", `/CN=${CLIENT_CN}`, "ca", "client.ext"],
      ["nocn", "/O=comqtt-ts test without a common name", "ca", "client.ext"],
      ["wrong", "/CN=intruder", "other-ca", "client.ext"],
    ];
    for (const [name, subject, ca, ext] of leaves) {
      await openssl(dir, ["req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
      await openssl(dir, [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        `${ca}.crt`,
        "-CAkey",
        `${ca}.key`,
        "-CAcreateserial",
        "-out",
        `${name}.crt`,
        "-days",
        "2",
        "-extfile",
        ext,
      ]);
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const files: Record<PkiName, string> = {
    ca: join(dir, "ca.crt"),
    serverCert: join(dir, "server.crt"),
    serverKey: join(dir, "server.key"),
    clientCert: join(dir, "client.crt"),
    clientKey: join(dir, "client.key"),
    noCnCert: join(dir, "nocn.crt"),
    noCnKey: join(dir, "nocn.key"),
    wrongCert: join(dir, "wrong.crt"),
    wrongKey: join(dir, "wrong.key"),
  };
  const pem = {} as Record<PkiName, string>;
  for (const [name, path] of Object.entries(files)) pem[name as PkiName] = await readFile(path, "utf8");
  return { dir, files, pem, remove: () => rm(dir, { recursive: true, force: true }) };
}
