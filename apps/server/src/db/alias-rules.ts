import { InvalidInputError, PreconditionFailedError } from '@lxchunk/errors';
import { validateAliasName } from '@lxchunk/format';
import { fromBlob, toBlob } from './blob-ids.js';
import { ALIAS_DESCRIPTION_MAX, type AliasExpectation, type AliasRecord } from './alias-repo.js';

/** An aliases row, as both databases return it. */
export interface AliasRow {
  name: string;
  target: Buffer;
  version: number;
  updated: number;
  description: string;
}

export function aliasRecord(row: AliasRow): AliasRecord {
  return { name: row.name, target: fromBlob(row.target), version: row.version, updated: row.updated, description: row.description };
}

/** The arguments of AliasRepository.set, checked before any query; returns the target as bytes. */
export function validateAliasSet(name: string, target: string, expect: AliasExpectation, description: string | undefined): Buffer {
  // The same rule as the routes and the client: a name the repo stores can always be addressed.
  validateAliasName(name);
  const targetBlob = toBlob(target, 'alias target');
  validateExpectation(expect);
  if (description !== undefined && (typeof description !== 'string' || description.length > ALIAS_DESCRIPTION_MAX)) {
    throw new InvalidInputError(`alias description must be a string of at most ${ALIAS_DESCRIPTION_MAX} characters`);
  }
  return targetBlob;
}

export function validateExpectVersion(expectVersion: number | undefined): void {
  if (expectVersion !== undefined && !Number.isSafeInteger(expectVersion)) {
    throw new InvalidInputError(`alias version must be an integer, got ${expectVersion}`);
  }
}

function validateExpectation(expect: AliasExpectation): void {
  if (typeof expect === 'object' && expect !== null) {
    if ('absent' in expect && expect.absent === true) return;
    if ('version' in expect && Number.isSafeInteger(expect.version)) return;
  }
  throw new InvalidInputError('alias precondition must be { version: <integer> } or { absent: true }');
}

/** PreconditionFailedError (details.current = {target, version} or null) unless `expect` holds for `current`. */
export function checkExpectation(name: string, current: AliasRow | undefined, expect: AliasExpectation): void {
  const details = { current: current ? { target: fromBlob(current.target), version: current.version } : null };
  if ('absent' in expect) {
    if (current) throw new PreconditionFailedError(`alias ${JSON.stringify(name)} already exists (version ${current.version})`, details);
    return;
  }
  if (!current) throw new PreconditionFailedError(`alias ${JSON.stringify(name)} does not exist`, details);
  if (current.version !== expect.version) {
    throw new PreconditionFailedError(`alias ${JSON.stringify(name)} is at version ${current.version}, not ${expect.version}`, details);
  }
}

/**
 * What a set whose precondition held writes. The same target: no new version ('same'; a given
 * description replaces the old one). Otherwise the next version after every one the name ever had
 * (a re-created alias continues its numbering: a version, hence an ETag, never comes back).
 */
export function nextAliasRow(
  current: AliasRow | undefined,
  name: string,
  target: Buffer,
  description: string | undefined,
  lastVersion: number,
  at: number,
): { kind: 'same'; row: AliasRow; describe: boolean } | { kind: 'new'; row: AliasRow } {
  if (current && current.target.equals(target)) {
    const describe = description !== undefined && description !== current.description;
    return { kind: 'same', row: describe ? { ...current, description } : current, describe };
  }
  return { kind: 'new', row: { name, target, version: lastVersion + 1, updated: at, description: description ?? current?.description ?? '' } };
}

export function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidInputError(`limit must be a positive integer, got ${limit}`);
  return limit;
}

export function checkSeq(seq: number): number {
  if (!Number.isSafeInteger(seq)) throw new InvalidInputError(`seq must be an integer, got ${seq}`);
  return seq;
}

export function checkKeep(keep: number): number {
  if (!Number.isSafeInteger(keep) || keep < 0) throw new InvalidInputError(`keep must be a non-negative integer, got ${keep}`);
  return keep;
}
