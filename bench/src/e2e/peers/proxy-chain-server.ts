/**
 * proxy-chain's Server as a measured peer (`node proxy-chain-server.js PORT ALLOWED_HOST`), with the same policy:
 * only ALLOWED_HOST, everything else 403. It has no access log; name resolution comes from /etc/hosts (the bench
 * runs it in a mount namespace where that file maps the test name to 127.0.0.1).
 */
import { RequestError, Server } from 'proxy-chain';

const [portText, allowed] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || !allowed) {
  process.stderr.write('usage: proxy-chain-server PORT ALLOWED_HOST\n');
  process.exit(2);
}
const server = new Server({
  host: '127.0.0.1',
  port,
  verbose: false,
  prepareRequestFunction: ({ hostname }) => {
    if (hostname !== allowed) throw new RequestError(`${hostname} is not allowlisted`, 403);
    return {};
  },
});
await server.listen();
process.stderr.write(`proxy-chain listening on 127.0.0.1:${port}\n`);
process.on('SIGTERM', () => {
  void server.close(true).then(() => process.exit(0));
});
