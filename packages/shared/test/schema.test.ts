import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.js';

describe('config schema', () => {
  it('applies defaults', () => {
    const c = configSchema.parse({ listen: ['[::1]:3128'] });
    expect(c.ports).toEqual([80, 443]);
    expect(c.timeouts.header_ms).toBe(10000);
    expect(c.log.format).toBe('json');
  });
});
