// Validates Kubernetes objects offline against the API's OpenAPI schemas,
// as compiled into the kubernetes-models npm package (package.json).
//
// Usage: node tests/e2e/validate_k8s.mjs OBJECTS.json
//   OBJECTS.json holds a JSON array of objects (e.g. rendered manifests).
// Prints one line per object and exits 1 when any object is invalid or of
// a kind this script does not know, 2 on a usage error.

import { readFileSync } from "node:fs";

// apiVersion ("v1", "apps/v1", ...) -> the kubernetes-models module that
// holds its kinds. Only built-in API groups; custom resources have no
// schema here.
function modulePath(apiVersion) {
  if (!apiVersion || typeof apiVersion !== "string") return null;
  return `kubernetes-models/${apiVersion}`;
}

async function validateObject(object) {
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
  return null;
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
