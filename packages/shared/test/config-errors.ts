/** For config tests: the lines of the ConfigError that loading `text` (as `c.yaml`) must throw. */
import { ConfigError, loadConfig } from '@cuttle/shared';
import { expect } from 'vitest';

/** Loads `text` as `c.yaml`; returns the ConfigError's message lines, and fails the test when it loads. */
export function configErrorsOf(text: string): string[] {
  try {
    loadConfig(text, 'c.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}
