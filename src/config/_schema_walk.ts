/**
 * Walks the zod config schema by key path: which keys a table accepts, and every leaf key with its
 * default. Folder-private: used for "did you mean" hints and by the example-file test.
 * Pure: no I/O.
 * @module
 */
import { z } from "zod";

/** One key of the schema, as written in TOML (`intermediate.limits.max_flows`). */
export interface SchemaKey {
  /** Dotted path; array-of-table entries appear as `connector.service[].id`. */
  path: string;
  /** True when the schema supplies a value if the key is left out. */
  hasDefault: boolean;
  /** The default value, when `hasDefault`. */
  defaultValue: unknown;
  /** True for tables and arrays of tables (their keys are listed separately). */
  isTable: boolean;
}

type Schema = z.core.$ZodType;

/** Strips `.default()` and `.optional()` wrappers, remembering a default if there was one. */
function unwrap(schema: Schema): { inner: Schema; hasDefault: boolean; value: unknown } {
  let inner = schema;
  let hasDefault = false;
  let value: unknown;
  for (;;) {
    if (inner instanceof z.core.$ZodDefault) {
      if (!hasDefault) value = inner._zod.def.defaultValue;
      hasDefault = true;
      inner = inner._zod.def.innerType;
    } else if (inner instanceof z.core.$ZodOptional) {
      inner = inner._zod.def.innerType;
    } else {
      return { inner, hasDefault, value };
    }
  }
}

/** The keys accepted by the table at `path` (numbers index arrays), or `[]` if it is no table. */
export function keysAt(schema: Schema, path: readonly PropertyKey[]): string[] {
  let node = unwrap(schema).inner;
  for (const part of path) {
    const shape = node instanceof z.core.$ZodObject ? node._zod.def.shape : undefined;
    if (node instanceof z.core.$ZodArray && typeof part === "number") {
      node = unwrap(node._zod.def.element).inner;
    } else if (shape !== undefined && typeof part === "string" && Object.hasOwn(shape, part)) {
      node = unwrap(shape[part]).inner;
    } else {
      return [];
    }
  }
  return node instanceof z.core.$ZodObject ? Object.keys(node._zod.def.shape) : [];
}

/** Every key of the schema, depth first, tables before their keys. */
export function allKeys(schema: Schema, prefix = ""): SchemaKey[] {
  const node = unwrap(schema).inner;
  if (!(node instanceof z.core.$ZodObject)) return [];
  const keys: SchemaKey[] = [];
  for (const [name, child] of Object.entries(node._zod.def.shape)) {
    const path = prefix ? `${prefix}.${name}` : name;
    const { inner, hasDefault, value } = unwrap(child);
    const element = inner instanceof z.core.$ZodArray
      ? unwrap(inner._zod.def.element).inner
      : undefined;
    if (inner instanceof z.core.$ZodObject) {
      keys.push({ path, hasDefault, defaultValue: value, isTable: true });
      keys.push(...allKeys(inner, path));
    } else if (element instanceof z.core.$ZodObject) {
      keys.push({ path, hasDefault, defaultValue: value, isTable: true });
      keys.push(...allKeys(element, `${path}[]`));
    } else if (inner instanceof z.core.$ZodDiscriminatedUnion) {
      // A table whose keys depend on its `kind` ([intermediate.store]): the table itself is
      // listed, its variants' keys are documented in comments of the example.
      keys.push({ path, hasDefault, defaultValue: value, isTable: true });
    } else {
      keys.push({ path, hasDefault, defaultValue: value, isTable: false });
    }
  }
  return keys;
}
