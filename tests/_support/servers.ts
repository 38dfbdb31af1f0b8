/**
 * Real redis-server and nginx for the multi-instance tests, each started on a free loopback
 * port with its files in a temporary directory, and stopped by the test.
 */
import { NGINX, REDIS_SERVER, requireTool } from "../../scripts/_required_tools.ts";
import { freePort } from "./cli.ts";

/** A running server process. */
export interface RunningServer {
  readonly port: number;
  stop(): Promise<void>;
}

async function waitForPort(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within 10 s`);
}

function spawned(program: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(program, { args, stdin: "null", stdout: "null", stderr: "null" })
    .spawn();
}

/** Starts `redis-server` without persistence on `port` (default: a free one). */
export async function startRedis(port = freePort()): Promise<RunningServer> {
  await requireTool(REDIS_SERVER);
  const child = spawned("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
  await waitForPort(port, "redis-server");
  return {
    port,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** Starts nginx balancing round-robin over `upstreamPorts` on loopback. */
export async function startNginxBalancer(upstreamPorts: number[]): Promise<RunningServer> {
  await requireTool(NGINX);
  const dir = await Deno.makeTempDir({ prefix: "orygate-nginx-" });
  await Deno.chmod(dir, 0o755); // nginx workers run as nobody
  const port = freePort();
  const servers = upstreamPorts.map((p) => `server 127.0.0.1:${p};`).join(" ");
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream orygates { ${servers} }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://orygates; proxy_set_header Host $http_host; }
  }
}
`,
  );
  const child = spawned("nginx", ["-p", dir, "-c", `${dir}/nginx.conf`, "-g", "daemon off;"]);
  await waitForPort(port, "nginx");
  return {
    port,
    stop: async () => {
      child.kill("SIGQUIT");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
