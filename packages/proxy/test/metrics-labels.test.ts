import { describe, expect, it } from 'vitest';
import { newAccessRecord } from '../src/core/access-record.js';
import { ProxyMetrics } from '../src/metrics/index.js';

// Every close reason the tunnel writes has its own label value: `other` would hide what closed tunnels.
describe('tunnel close reasons as metric labels', () => {
  it.each([
    'client_end',
    'upstream_end',
    'idle_timeout',
    'sni_mismatch',
    'host_mismatch',
    'error',
    'drain',
  ] as const)('%s is a label of its own', async (closeReason) => {
    const m = new ProxyMetrics();
    m.observeRecord({
      ...newAccessRecord('::1', 'CONNECT', 'allowlisted', 200),
      verdict: 'allow',
      closeReason,
    });
    const text = await m.registry.metrics();
    expect(text).toContain(`cuttle_tunnel_duration_seconds_count{close_reason="${closeReason}"} 1`);
  });
});
