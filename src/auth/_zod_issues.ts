/**
 * Folder-private: renders zod issues as one line for local error messages (never sent to peers).
 * @module
 */
import type { z } from "zod";

/** `path: message; path: message`, the shape config and admin errors use. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ` : "") + issue.message)
    .join("; ");
}
