/**
 * TLS material for tests, made at test time with the openssl CLI in a temporary directory (no key is ever
 * committed): a throw-away CA and leaf certificates it signs, valid for a day.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A leaf key pair in PEM, ready for `tls.createServer({ key, cert })`. */
export interface TestLeaf {
  readonly key: string;
  readonly cert: string;
}

/** A test CA: `ca` for clients' `ca` option, `issue` for server certificates, `dispose` removes the files. */
export interface TestPki {
  readonly ca: string;
  issue(names: readonly string[]): TestLeaf;
  dispose(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * Creates a CA in a fresh temporary directory. Names given to `issue` become subjectAltName entries (`DNS:` for
 * names, `IP:` for addresses); the first is also the CN.
 */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'cuttle-tls-'));
  openssl(
    [
      'req',
      '-x509',
      ...EC,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=cuttle test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  let serial = 0;
  return {
    ca,
    issue(names) {
      const n = ++serial;
      const first = names[0] ?? 'localhost';
      const san = names.map((name) => (/^[0-9.]+$|:/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
      writeFileSync(
        join(dir, `leaf${n}.ext`),
        `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
      );
      openssl(
        ['req', ...EC, '-keyout', `leaf${n}.key`, '-out', `leaf${n}.csr`, '-subj', `/CN=${first}`],
        dir,
      );
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `leaf${n}.csr`,
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-set_serial',
          String(1000 + n),
          '-days',
          '1',
          '-extfile',
          `leaf${n}.ext`,
          '-out',
          `leaf${n}.crt`,
        ],
        dir,
      );
      return {
        key: readFileSync(join(dir, `leaf${n}.key`), 'utf8'),
        cert: readFileSync(join(dir, `leaf${n}.crt`), 'utf8'),
      };
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
