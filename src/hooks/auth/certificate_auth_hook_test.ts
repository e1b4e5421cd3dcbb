import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ClientInfo } from "../hook.ts";
import type { ConnectPacket } from "../../packets/types.ts";
import { CertificateAuthHook } from "./certificate_auth_hook.ts";
import { FileAuthHook } from "./file_auth_hook.ts";

const rules = FileAuthHook.fromYaml(
  "acl:\n  - { topic: 'devices/%u/#', access: readwrite }\n  - { topic: 'home/+/door', access: write }\n",
  "devices.yaml",
);
const device: ClientInfo = {
  id: "d1",
  username: "device-1",
  remoteAddress: "127.0.0.1:1",
  listener: "devices",
  protocolVersion: 4,
  certificateCommonName: "device-1",
};
const connect: ConnectPacket = {
  type: "connect",
  protocolName: "MQTT",
  protocolVersion: 4,
  clientId: "d1",
  clean: true,
  keepalive: 0,
};

describe("CertificateAuthHook", () => {
  it("lets in a client with a verified certificate and no password, and nobody without one", () => {
    const hook = new CertificateAuthHook(rules);
    assert.equal(hook.onAuthenticate(device, connect), "allow");
    const { certificateCommonName: _cn, ...noCert } = device;
    assert.equal(hook.onAuthenticate(noCert, connect), "deny");
  });

  it("checks topics with the file's rules under the certificate's name: ACLs stay on", () => {
    const hook = new CertificateAuthHook(rules);
    assert.equal(hook.onAclCheck(device, "devices/device-1/temp", "write"), "allow");
    assert.equal(hook.onAclCheck(device, "devices/device-2/temp", "write"), "deny");
    assert.equal(hook.onAclCheck(device, "home/alice/door", "write"), "allow");
    assert.equal(hook.onAclCheck(device, "home/alice/door", "read"), "deny");
    assert.equal(hook.onAclCheck(device, "#", "read"), "deny");
  });
});
