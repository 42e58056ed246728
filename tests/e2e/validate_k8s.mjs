// Validates Kubernetes objects offline against the API's OpenAPI schemas,
// as compiled into the kubernetes-models npm package (package.json), and
// rejects fields the API does not define (a misspelt "readinesProbe" is
// valid JSON Schema but silently dropped by the API server). Those
// schemas allow unknown fields, so the field names come from the
// package's TypeScript declarations, which list every field of every type.
//
// Usage: node tests/e2e/validate_k8s.mjs OBJECTS.json
//   OBJECTS.json holds a JSON array of objects (e.g. rendered manifests).
// Prints one line per object and exits 1 when any object is invalid or of
// a kind this script does not know, 2 on a usage error.

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const require = createRequire(import.meta.url);
const MODELS_DIR = dirname(require.resolve("kubernetes-models/package.json"));
const NODE_MODULES = dirname(MODELS_DIR);

// --- field names from the .d.ts declarations ---------------------------

const declarations = new Map();  // .d.ts path -> parsed declarations

// Parses one generated .d.ts: its imports, interfaces (field -> type text)
// and exported aliases ("export type { IA as IB }").
function parseDeclarations(file) {
  if (declarations.has(file)) return declarations.get(file);
  const text = readFileSync(file, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "");
  const parsed = { imports: new Map(), interfaces: new Map(),
                   aliases: new Map() };
  for (const m of text.matchAll(/import \{([^}]*)\} from "([^"]+)"/g)) {
    for (const name of m[1].split(",").map((n) => n.trim()).filter(Boolean)) {
      parsed.imports.set(name, m[2]);
    }
  }
  for (const m of text.matchAll(/export type \{([^}]*)\}/g)) {
    for (const pair of m[1].split(",")) {
      const [from, to] = pair.split(" as ").map((n) => n.trim());
      if (to) parsed.aliases.set(to, from);
    }
  }
  for (const m of text.matchAll(/export interface (\w+)[^{]*\{/g)) {
    parsed.interfaces.set(m[1], parseFields(text, m.index + m[0].length));
  }
  declarations.set(file, parsed);
  return parsed;
}

// Reads `"name"?: type;` entries at the top level of a `{ ... }` body.
function parseFields(text, start) {
  const fields = new Map();
  let depth = 1, i = start, entry = "";
  for (; i < text.length && depth > 0; i++) {
    const c = text[i];
    if (c === "{" || c === "<" || c === "(") depth++;
    if (c === "}" || c === ">" || c === ")") depth--;
    if (depth === 0) break;
    if (c === ";" && depth === 1) {
      const m = entry.trim().match(/^"([^"]+)"\??:\s*([\s\S]*)$/);
      if (m) fields.set(m[1], m[2].trim());
      entry = "";
    } else {
      entry += c;
    }
  }
  return fields;
}

function resolveModule(specifier, fromFile) {
  const base = specifier.startsWith(".")
    ? resolve(dirname(fromFile), specifier)
    : join(NODE_MODULES, specifier);
  const file = base.replace(/\.js$/, "") + ".d.ts";
  return existsSync(file) ? file : null;
}

// The interface a type name stands for in `file`, as {file, name}, or null
// for scalars (string, number, IntOrString, Quantity, Time, ...).
function resolveInterface(typeName, file) {
  for (let hops = 0; hops < 10; hops++) {
    const parsed = parseDeclarations(file);
    if (parsed.interfaces.has(typeName)) return { file, name: typeName };
    if (parsed.aliases.has(typeName)) {
      typeName = parsed.aliases.get(typeName);
      continue;
    }
    const specifier = parsed.imports.get(typeName);
    const next = specifier && resolveModule(specifier, file);
    if (!next) return null;
    file = next;
  }
  return null;
}

// Appends to `problems` every field of `value` that type `typeText` (as
// written in `file`) does not declare.
function checkFields(value, typeText, file, path, problems) {
  if (value === null || typeof value !== "object") return;
  const array = typeText.match(/^Array<([\s\S]*)>$/);
  if (array) {
    if (Array.isArray(value)) {
      value.forEach((item, i) =>
        checkFields(item, array[1].trim(), file, `${path}[${i}]`, problems));
    }
    return;
  }
  let fields, typeName;
  if (/^\{\s*"/.test(typeText)) {
    // An inline object type (e.g. a StatefulSet's volumeClaimTemplates).
    fields = parseFields(typeText, typeText.indexOf("{") + 1);
    typeName = "its type";
  } else if (/^I\w+$/.test(typeText)) {
    const target = resolveInterface(typeText, file);
    if (!target) return;  // an alias of a scalar, e.g. Quantity
    fields = parseDeclarations(target.file).interfaces.get(target.name);
    typeName = target.name;
    file = target.file;
  } else {
    return;  // maps ({ [key: string]: ... }), unions, scalars
  }
  for (const [key, child] of Object.entries(value)) {
    if (!fields.has(key)) {
      problems.push(`${path}.${key} is not a field of ${typeName}`);
    } else {
      checkFields(child, fields.get(key), file, `${path}.${key}`, problems);
    }
  }
}

function unknownFields(object) {
  const file = join(MODELS_DIR, object.apiVersion, `${object.kind}.d.ts`);
  if (!existsSync(file)) return [`no declarations for ${object.kind}`];
  const problems = [];
  checkFields(object, `I${object.kind}`, file, object.kind, problems);
  return problems;
}

// apiVersion ("v1", "apps/v1", ...) -> the kubernetes-models module that
// holds its kinds. Only built-in API groups; custom resources have no
// schema here.
function modulePath(apiVersion) {
  if (!apiVersion || typeof apiVersion !== "string") return null;
  return `kubernetes-models/${apiVersion}`;
}

// The base64 of Secret data and ConfigMap binaryData as the API server
// reads it: its decoder skips line breaks, which newer kustomize writes
// into long values (a YAML block scalar), while the schema's "byte"
// format does not allow them.
function withoutBase64LineBreaks(object) {
  const copy = structuredClone(object);
  for (const field of ["data", "binaryData"]) {
    const values = copy[field];
    if ((copy.kind === "Secret" || field === "binaryData") &&
        values && typeof values === "object") {
      for (const key of Object.keys(values)) {
        if (typeof values[key] === "string") {
          values[key] = values[key].replace(/[\r\n]/g, "");
        }
      }
    }
  }
  return copy;
}

async function validateObject(original) {
  const object = withoutBase64LineBreaks(original);
  const { apiVersion, kind } = object;
  const path = modulePath(apiVersion);
  if (!path || !kind) return "has no apiVersion or kind";
  let module;
  try {
    module = await import(path);
  } catch {
    return `apiVersion ${apiVersion} is not a built-in Kubernetes API`;
  }
  const Model = module[kind];
  if (typeof Model !== "function") {
    return `kind ${kind} does not exist in ${apiVersion}`;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    return error.message;
  }
  const unknown = unknownFields(object);
  return unknown.length > 0 ? unknown.join("; ") : null;
}

async function main() {
  if (process.argv.length !== 3) {
    console.error("usage: node validate_k8s.mjs OBJECTS.json");
    process.exit(2);
  }
  const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
  if (!Array.isArray(objects) || objects.length === 0) {
    console.error("expected a non-empty JSON array of objects");
    process.exit(2);
  }
  let failures = 0;
  for (const object of objects) {
    const name = `${object?.kind}/${object?.metadata?.name}`;
    const problem = await validateObject(object);
    if (problem) {
      failures++;
      console.log(`INVALID ${name}: ${problem}`);
    } else {
      console.log(`valid ${name}`);
    }
  }
  process.exit(failures === 0 ? 0 : 1);
}

await main();
