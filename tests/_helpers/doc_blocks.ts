/**
 * Reads the runnable parts of a markdown document: the fenced blocks under one heading, shell
 * commands (continuation lines joined, comments kept for their meaning) and config files (a
 * `toml` block whose first line is `# /path/of/the/file`). Lets tests run the docs as written.
 * Pure: no I/O.
 * @module
 */

/** One fenced block: its info string (`sh`, `toml`…) and its text. */
export interface FencedBlock {
  lang: string;
  text: string;
}

/** A command line from an `sh` block. */
export interface DocCommand {
  /** The command as written, continuation lines joined with a space, trailing comment removed. */
  command: string;
  /** The trailing `# …` comment, if any (e.g. "fails now: …"). */
  comment: string;
}

/** A config file shown in the docs: where it goes and what it holds. */
export interface DocFile {
  path: string;
  text: string;
}

/** A step of a section, in document order. */
export type DocStep = { kind: "command"; value: DocCommand } | { kind: "file"; value: DocFile };

/**
 * The fenced blocks of the section under `heading` (any level), up to the next heading of the
 * same or a higher level; subsections included.
 * @throws {Error} when the heading is not in the document
 */
export function sectionBlocks(markdown: string, heading: string): FencedBlock[] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => /^#{1,6} /.test(l) && l.replace(/^#+ /, "") === heading);
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const level = lines[start].indexOf(" ");
  const blocks: FencedBlock[] = [];
  let fence: { lang: string; body: string[] } | undefined;
  for (const line of lines.slice(start + 1)) {
    if (fence !== undefined) {
      if (/^```\s*$/.test(line)) {
        blocks.push({ lang: fence.lang, text: fence.body.join("\n") + "\n" });
        fence = undefined;
      } else {
        fence.body.push(line);
      }
      continue;
    }
    const h = line.match(/^(#{1,6}) /);
    if (h !== null && h[1].length <= level) break;
    const open = line.match(/^```(\S*)\s*$/);
    if (open !== null) fence = { lang: open[1], body: [] };
  }
  return blocks;
}

/** Splits a shell line into the command and its trailing comment (a `#` outside quotes). */
function splitComment(line: string): DocCommand {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) {
      return { command: line.slice(0, i).trim(), comment: line.slice(i + 1).trim() };
    }
  }
  return { command: line.trim(), comment: "" };
}

/** The commands of an `sh` block: `\` continuations joined, blank and comment-only lines dropped. */
export function shellCommands(text: string): DocCommand[] {
  const out: DocCommand[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = pending === "" ? raw : `${pending} ${raw.trim()}`;
    if (/\\\s*$/.test(line)) {
      pending = line.replace(/\\\s*$/, "").trimEnd();
      continue;
    }
    pending = "";
    const cmd = splitComment(line);
    if (cmd.command !== "") out.push(cmd);
  }
  return out;
}

/** The file a `toml` block stands for, when its first line is `# /absolute/path`. */
export function docFile(block: FencedBlock): DocFile | undefined {
  if (block.lang !== "toml") return undefined;
  const first = block.text.split("\n")[0].match(/^# (\/\S+?):?(\s|$)/);
  return first === null ? undefined : { path: first[1], text: block.text };
}

/** The runnable steps of a section: files to write and commands to run, in order. */
export function sectionSteps(markdown: string, heading: string): DocStep[] {
  return sectionBlocks(markdown, heading).flatMap((block): DocStep[] => {
    if (block.lang === "sh") {
      return shellCommands(block.text).map((value) => ({ kind: "command", value }));
    }
    const file = docFile(block);
    return file === undefined ? [] : [{ kind: "file", value: file }];
  });
}
