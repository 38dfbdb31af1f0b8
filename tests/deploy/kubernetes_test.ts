/**
 * The Kubernetes example in docs/operations.md parses, and its names line up: the Secret the
 * Deployment reads ORYGATE_JWKS from, the ports the probes and the Service name, the Redis
 * Service ORYGATE_REDIS_URL points at, and arguments the real CLI accepts.
 */
import { parseAllDocuments } from "yaml";
import { parseConfig, type RawOptions } from "../../src/config/parse.ts";
import { assert, assertEquals } from "../_support/assert.ts";

const ROOT = new URL("../../", import.meta.url);

// deno-lint-ignore no-explicit-any
type Doc = any;

async function kubernetesExample(): Promise<Doc[]> {
  const text = await Deno.readTextFile(new URL("docs/operations.md", ROOT));
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .filter((block) => block.includes("kind: Deployment"));
  assertEquals(blocks.length, 1);
  const docs = parseAllDocuments(blocks[0]);
  assert(Array.isArray(docs), "the Kubernetes example is not a YAML stream");
  for (const doc of docs) assertEquals(doc.errors, [], String(doc.errors));
  return docs.map((d) => d.toJS());
}

Deno.test("docs/operations.md: the Kubernetes example parses and its names line up", async (t) => {
  const docs = await kubernetesExample();
  const find = (kind: string, name: string) =>
    docs.find((d) => d.kind === kind && d.metadata.name === name);
  const secret = find("Secret", "orygate-jwks");
  const deployment = find("Deployment", "orygate");
  const service = find("Service", "orygate");
  assert(secret && deployment && service, JSON.stringify(docs.map((d) => d.kind)));
  const container = deployment.spec.template.spec.containers[0];
  const env = Object.fromEntries(
    container.env.map((e: Doc) => [e.name, e.value ?? e.valueFrom]),
  );

  await t.step("ORYGATE_JWKS comes from the Secret's key", () => {
    const ref = env.ORYGATE_JWKS.secretKeyRef;
    assertEquals(ref.name, secret.metadata.name);
    assert(ref.key in secret.stringData, `the Secret has no ${ref.key}`);
  });
  await t.step("the probes are the real health paths on a named port", () => {
    const ports = container.ports.map((p: Doc) => p.name);
    assertEquals(container.livenessProbe.httpGet.path, "/.ory/proxy/health/alive");
    assertEquals(container.readinessProbe.httpGet.path, "/.ory/proxy/health/ready");
    assert(ports.includes(container.livenessProbe.httpGet.port));
    assert(ports.includes(container.readinessProbe.httpGet.port));
    assert(ports.includes(service.spec.ports[0].targetPort));
  });
  await t.step("the Service selects the pods", () => {
    assertEquals(service.spec.selector, deployment.spec.template.metadata.labels);
    assertEquals(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels);
  });
  await t.step("ORYGATE_REDIS_URL names the optional Redis Service", () => {
    const url = new URL(env.ORYGATE_REDIS_URL);
    const redis = find("Service", url.hostname);
    assert(redis, `no Service ${url.hostname}`);
    assertEquals(String(redis.spec.ports[0].port), url.port);
    const redisDeployment = find("Deployment", "orygate-redis");
    assertEquals(redis.spec.selector, redisDeployment.spec.template.metadata.labels);
  });
  await t.step("the arguments are a config orygate accepts, on the container's port", () => {
    const [command, appUrl, publishUrl, ...flags] = container.args as string[];
    assertEquals(command, "proxy");
    const options: Record<string, string> = {};
    for (let i = 0; i < flags.length; i += 2) {
      options[flags[i].slice(2).replace(/-(\w)/g, (_, c) => c.toUpperCase())] = flags[i + 1];
    }
    const config = parseConfig({
      command: "proxy",
      appUrl,
      publishUrl,
      options: options as RawOptions,
      env: { ORYGATE_REDIS_URL: env.ORYGATE_REDIS_URL, ORYGATE_JWKS: "{}" },
    });
    const http = container.ports.find((p: Doc) => p.name === "http").containerPort;
    const metrics = container.ports.find((p: Doc) => p.name === "metrics").containerPort;
    assertEquals([config.port, config.metricsAddress?.port], [http, metrics]);
    assertEquals(config.jwt.jwksJson, "{}");
    assertEquals(config.jwt.redisUrl, env.ORYGATE_REDIS_URL);
  });
});
