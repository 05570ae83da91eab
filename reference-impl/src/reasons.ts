/**
 * Cleanup reasons and details by name, from the spec.
 *
 * @module
 */
import { CleanupDetail, CleanupReason } from '../../codec/src/index.js';

/** A cleanup reason name (design 6.2.1), `none` excluded. */
export type CleanupReasonName = Exclude<keyof typeof CleanupReason, 'none'>;

/** A cleanup detail name. */
export type CleanupDetailName = keyof typeof CleanupDetail;

/** Why a session ended. */
export interface Trigger {
  /** Cleanup reason every client receives. */
  readonly reason: CleanupReasonName;
  /** Finer detail. */
  readonly detail: CleanupDetailName;
  /** Human-readable context. */
  readonly text: string;
}

/** Name of a cleanup reason value, or `reason<N>` for an unknown one. */
export function reasonName(value: number): CleanupReasonName | 'none' | `reason${number}` {
  const hit = Object.entries(CleanupReason).find(([, v]) => v === value);
  return (hit?.[0] as CleanupReasonName | 'none' | undefined) ?? `reason${value}`;
}

/** Name of a cleanup detail value, or `detail<N>` for an unknown one. */
export function detailName(value: number): string {
  return Object.entries(CleanupDetail).find(([, v]) => v === value)?.[0] ?? `detail${value}`;
}
