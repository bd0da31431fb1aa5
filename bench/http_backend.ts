/**
 * HTTP backend of the real-application case (case 10): answers every request with 64 bytes over
 * HTTP/1.1 keep-alive, in its own process so the load generator and the bench do not share its
 * event loop. Prints `HTTP backend listening on 127.0.0.1:<port>`.
 * Usage: `deno run --allow-net=127.0.0.1 bench/http_backend.ts`.
 * @module
 */

/** Readiness line. */
export const HTTP_READY = /HTTP backend listening on 127\.0\.0\.1:(\d+)/;

if (import.meta.main) {
  const body = new TextEncoder().encode("x".repeat(63) + "\n");
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(`HTTP backend listening on 127.0.0.1:${port}`),
  }, () => new Response(body, { headers: { "content-type": "text/plain" } }));
  for (const s of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(s, () => void server.shutdown());
  }
  await server.finished;
}
