/**
 * Offline cross-reference check of Terraform code, parsed with @cdktf/hcl2json (no terraform binary, no providers):
 * every `var.`, `local.`, `module.`, `data.` and resource reference names something declared in its module;
 * local module sources exist; module calls pass no unknown argument and every required one; references to a
 * module's outputs name outputs it declares; outputs have a value; every resource type's provider is in
 * required_providers; variables have a type and a description, outputs a description. Used by
 * hcl-references.spec.ts on the real terraform/ tree and on planted errors.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, posix, relative, sep } from 'node:path';

/**
 * @cdktf/hcl2json, loaded untyped: its typings start with `/// <reference lib="dom" />`, which would change Node's
 * globals (performance, fetch) for the whole program if imported. parse() turns HCL into Terraform's JSON syntax.
 */
const { parse } = createRequire(__filename)('@cdktf/hcl2json') as {
  parse: (filename: string, contents: string) => Promise<Record<string, unknown>>;
};

/** Terraform files by POSIX path (relative to any common root); a directory's `.tf` files are one module. */
export type TerraformFiles = ReadonlyMap<string, string>;

/** Result of a check: human-readable problems (empty when clean) and how much was looked at. */
export interface CheckResult {
  problems: string[];
  modules: number;
  references: number;
}

/** Meta-arguments of a module block, which are not input variables of the called module. */
const MODULE_META_ARGS = new Set(['source', 'version', 'providers', 'count', 'for_each', 'depends_on']);
/** Provider-independent resource types. */
const BUILTIN_TYPE_PREFIXES = new Set(['terraform']);

type Body = Record<string, unknown>;

interface Expression {
  file: string;
  where: string;
  text: string;
}

interface ModuleCall {
  file: string;
  source: string;
  args: string[];
}

interface ModuleInfo {
  dir: string;
  variables: Map<string, { required: boolean; file: string; documented: boolean }>;
  locals: Set<string>;
  resources: Set<string>;
  data: Set<string>;
  modules: Map<string, ModuleCall>;
  outputs: Map<string, { file: string; hasValue: boolean; documented: boolean }>;
  providers: Set<string>;
  resourceTypes: Map<string, string>;
  expressions: Expression[];
}

/** Reads every `.tf` file under `root` (skipping .terraform and node_modules), keyed by POSIX path from `base`. */
export async function loadTerraformFiles(root: string, base = root): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.terraform' && entry.name !== 'node_modules') await walk(path);
      } else if (entry.isFile() && entry.name.endsWith('.tf')) {
        files.set(relative(base, path).split(sep).join('/'), await readFile(path, 'utf8'));
      }
    }
  };
  await walk(root);
  return files;
}

/** The `${...}` interpolations of a string as hcl2json renders expressions (`$${` is a literal). */
export function interpolations(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '$' || text[i + 1] !== '{') continue;
    if (text[i - 1] === '$') continue;
    let depth = 0;
    let j = i + 1;
    let quote = false;
    for (; j < text.length; j++) {
      const c = text[j];
      if (quote) {
        // Braces in a quoted string do not nest; a template inside it stays part of this expression's text.
        if (c === '\\') j++;
        else if (c === '"') quote = false;
        continue;
      }
      if (c === '"') quote = true;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) break;
    }
    out.push(text.slice(i + 2, j));
    i = j;
  }
  return out;
}

const ITERATOR = /\bfor\s+([A-Za-z_][\w-]*)(?:\s*,\s*([A-Za-z_][\w-]*))?\s+in\b/g;
const INDEX = String.raw`(?:\[[^\]]*\])?`;
const NAME = String.raw`([A-Za-z_][\w-]*)`;
const TRAVERSAL = new RegExp(String.raw`(?<![\w.-])${NAME}\.${NAME}${INDEX}(?:\.${NAME})?`, 'g');

/** Traversals (root plus up to two attribute names) in one expression, minus for-expression iterators. */
export function traversals(expression: string): string[][] {
  const iterators = new Set<string>();
  for (const m of expression.matchAll(ITERATOR)) {
    iterators.add(m[1]);
    if (m[2]) iterators.add(m[2]);
  }
  const out: string[][] = [];
  for (const m of expression.matchAll(TRAVERSAL)) {
    if (iterators.has(m[1])) continue;
    out.push([m[1], m[2], m[3]].filter((part): part is string => part !== undefined));
  }
  return out;
}

function blocks(value: unknown): Body[] {
  return Array.isArray(value) ? (value as Body[]) : value && typeof value === 'object' ? [value as Body] : [];
}

function collectStrings(value: unknown, file: string, where: string, into: Expression[]): void {
  if (typeof value === 'string') {
    for (const text of interpolations(value)) into.push({ file, where, text });
  } else if (Array.isArray(value)) {
    for (const item of value) collectStrings(item, file, where, into);
  } else if (value && typeof value === 'object') {
    for (const item of Object.values(value)) collectStrings(item, file, where, into);
  }
}

function newModule(dir: string): ModuleInfo {
  return {
    dir,
    variables: new Map(),
    locals: new Set(),
    resources: new Set(),
    data: new Set(),
    modules: new Map(),
    outputs: new Map(),
    providers: new Set(),
    resourceTypes: new Map(),
    expressions: [],
  };
}

function addFile(mod: ModuleInfo, file: string, json: Body): void {
  for (const [name, list] of Object.entries((json.variable ?? {}) as Body)) {
    const body = blocks(list)[0] ?? {};
    mod.variables.set(name, {
      required: !('default' in body),
      file,
      documented: 'type' in body && typeof body.description === 'string' && body.description !== '',
    });
    collectStrings(body, file, `variable.${name}`, mod.expressions);
  }
  for (const body of blocks(json.locals)) {
    for (const [name, value] of Object.entries(body)) {
      mod.locals.add(name);
      collectStrings(value, file, `local.${name}`, mod.expressions);
    }
  }
  for (const kind of ['resource', 'data'] as const) {
    for (const [type, named] of Object.entries((json[kind] ?? {}) as Body)) {
      for (const [name, body] of Object.entries(named as Body)) {
        (kind === 'resource' ? mod.resources : mod.data).add(`${type}.${name}`);
        mod.resourceTypes.set(type, file);
        collectStrings(body, file, `${kind === 'data' ? 'data.' : ''}${type}.${name}`, mod.expressions);
      }
    }
  }
  for (const [name, list] of Object.entries((json.module ?? {}) as Body)) {
    const body = blocks(list)[0] ?? {};
    const source = typeof body.source === 'string' ? body.source : '';
    mod.modules.set(name, { file, source, args: Object.keys(body).filter((k) => !MODULE_META_ARGS.has(k)) });
    collectStrings(body, file, `module.${name}`, mod.expressions);
  }
  for (const [name, list] of Object.entries((json.output ?? {}) as Body)) {
    const body = blocks(list)[0] ?? {};
    mod.outputs.set(name, {
      file,
      hasValue: 'value' in body,
      documented: typeof body.description === 'string' && body.description !== '',
    });
    collectStrings(body, file, `output.${name}`, mod.expressions);
  }
  for (const terraform of blocks(json.terraform)) {
    for (const required of blocks(terraform.required_providers)) {
      for (const name of Object.keys(required)) mod.providers.add(name);
    }
  }
  for (const [name, list] of Object.entries((json.provider ?? {}) as Body)) {
    collectStrings(list, file, `provider.${name}`, mod.expressions);
  }
}

/** A module's local source resolved against its directory, or undefined for registry and remote sources. */
function localSource(dir: string, source: string): string | undefined {
  if (!source.startsWith('./') && !source.startsWith('../')) return undefined;
  return posix.normalize(posix.join(dir, source));
}

/** Parses every file and checks each module's references; problems name the file and the object. */
export async function checkTerraform(files: TerraformFiles): Promise<CheckResult> {
  const modules = new Map<string, ModuleInfo>();
  const problems: string[] = [];
  for (const [file, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const dir = posix.dirname(file);
    const mod = modules.get(dir) ?? newModule(dir);
    modules.set(dir, mod);
    try {
      addFile(mod, file, await parse(file, text));
    } catch (err) {
      problems.push(`${file}: does not parse: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  let references = 0;
  for (const mod of modules.values()) {
    const typePrefixes = new Set([...mod.providers, ...BUILTIN_TYPE_PREFIXES]);
    for (const [type, file] of mod.resourceTypes) {
      const provider = type.split('_')[0];
      if (!typePrefixes.has(provider))
        problems.push(`${file}: ${type}: provider "${provider}" is not in required_providers`);
    }
    for (const [name, call] of mod.modules) {
      const target = localSource(mod.dir, call.source);
      if (target === undefined) continue;
      const child = modules.get(target);
      if (!child) {
        problems.push(`${call.file}: module.${name}: source "${call.source}" has no .tf files (${target})`);
        continue;
      }
      for (const arg of call.args) {
        if (!child.variables.has(arg))
          problems.push(
            `${call.file}: module.${name}: unknown argument "${arg}" (no such variable in ${target})`,
          );
      }
      for (const [variable, { required }] of child.variables) {
        if (required && !call.args.includes(variable))
          problems.push(`${call.file}: module.${name}: missing required argument "${variable}"`);
      }
    }
    for (const [name, output] of mod.outputs) {
      if (!output.hasValue) problems.push(`${output.file}: output.${name} has no value`);
      if (!output.documented) problems.push(`${output.file}: output.${name} has no description`);
    }
    for (const [name, variable] of mod.variables) {
      if (!variable.documented)
        problems.push(`${variable.file}: variable.${name} needs a type and a description`);
    }
    for (const { file, where, text } of mod.expressions) {
      for (const [root, first, second] of traversals(text)) {
        const problem = checkTraversal(mod, modules, typePrefixes, root, first, second);
        if (problem === null) continue;
        references++;
        if (problem) problems.push(`${file}: ${where}: ${problem}`);
      }
    }
  }
  return { problems, modules: modules.size, references };
}

/** '' when the reference resolves, a message when it does not, null when it is not a checked kind of reference. */
function checkTraversal(
  mod: ModuleInfo,
  modules: ReadonlyMap<string, ModuleInfo>,
  typePrefixes: ReadonlySet<string>,
  root: string,
  first: string,
  second: string | undefined,
): string | null {
  switch (root) {
    case 'var':
      return mod.variables.has(first) ? '' : `var.${first} is not declared`;
    case 'local':
      return mod.locals.has(first) ? '' : `local.${first} is not declared`;
    case 'module': {
      const call = mod.modules.get(first);
      if (!call) return `module.${first} is not declared`;
      const target = localSource(mod.dir, call.source);
      const child = target === undefined ? undefined : modules.get(target);
      if (!child || second === undefined) return '';
      return child.outputs.has(second)
        ? ''
        : `module.${first}.${second}: ${target} has no output "${second}"`;
    }
    case 'data':
      if (second === undefined) return `data.${first} names no data source`;
      return mod.data.has(`${first}.${second}`) ? '' : `data.${first}.${second} is not declared`;
    default:
      if (!/^[a-z][a-z0-9]*_[a-z0-9_]+$/.test(root) || !typePrefixes.has(root.split('_')[0])) return null;
      return mod.resources.has(`${root}.${first}`) ? '' : `${root}.${first} is not declared`;
  }
}
