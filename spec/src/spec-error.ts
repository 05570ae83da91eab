/**
 * Error raised when a spec file breaks the spec schema or a cross-reference rule.
 *
 * @module
 */

/** One violation in a spec file: where it is and which rule it breaks. */
export interface SpecViolation {
  /** JSON Pointer into the spec file (`/messages/0/subtypes/1/fields/2`). */
  readonly path: string;
  /** Rule broken: a JSON Schema keyword (`enum`, `required`…) or a cross-reference rule name. */
  readonly rule: string;
  /** What is wrong. */
  readonly message: string;
}

/**
 * A spec file is invalid. `code` is always `ERR_INVALID_SPEC`; `violations` lists every
 * problem found, each with its path and rule.
 */
export class SpecError extends Error {
  /** Stable error code. */
  readonly code = 'ERR_INVALID_SPEC';
  /** Every violation found. */
  readonly violations: readonly SpecViolation[];

  constructor(source: string, violations: readonly SpecViolation[]) {
    const lines = violations.map((v) => `  ${v.path || '/'}: ${v.message} (rule: ${v.rule})`);
    super(`invalid spec ${source}:\n${lines.join('\n')}`);
    this.name = 'SpecError';
    this.violations = violations;
  }
}
