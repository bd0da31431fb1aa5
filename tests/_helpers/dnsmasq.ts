/** A real dnsmasq on a loopback UDP port, started by a test: it answers app.example.test with 192.0.2.7. */

/** The address dnsmasq answers for {@link DNSMASQ_NAME}. */
export const DNSMASQ_ADDRESS = "192.0.2.7";
/** The one name it knows. */
export const DNSMASQ_NAME = "app.example.test";

/** Starts dnsmasq in the foreground on 127.0.0.1:`port`; the caller kills it and awaits its status. */
export function startDnsmasq(
  port: number,
  options: { stderr?: "piped" | "null" } = {},
): Deno.ChildProcess {
  return new Deno.Command("dnsmasq", {
    args: [
      "--keep-in-foreground",
      `--port=${port}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      "--user=root",
      "--pid-file=",
      `--address=/${DNSMASQ_NAME}/${DNSMASQ_ADDRESS}`,
    ],
    stdout: "null",
    stderr: options.stderr ?? "null",
  }).spawn();
}
