// Validate Kubernetes custom resources with the validators that the npm @kubernetes-models/*
// packages publish (AJV standalone code generated from the upstream CRD schemas; fetched by
// scripts/fixtures/fetch-k8s-models.sh). Driven by tests/support/k8s_models.py.
//
//   node k8s_models.mjs NODE_MODULES PACKAGE... < documents.json   (a JSON array of objects)
//   node k8s_models.mjs NODE_MODULES PACKAGE... --kinds             (the kinds the packages know)
//
// Prints one JSON array: per document null when no package knows its apiVersion/kind, else the
// list of its errors, each {"path": "/spec/...", "message": "..."}; with --kinds, "apiVersion/kind"
// strings.
//
// Unknown fields: the generated validators accept them, as the API server does without strict field
// validation. Each object is therefore wrapped in a Proxy that records the keys the validator reads.
// A validator reads every property its schema declares (`void 0!==data.name`), so a key it never
// reads is not in the schema. Objects it enumerates (maps such as labels) or never looks into
// (free-form ones such as preserve-unknown-fields) are open.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const GROUP_VERSION = /^\.\/[^/]+\.[^/]+\/v\d[^/]*$/; // an export such as "./argoproj.io/v1alpha1"

async function registry(nodeModules, packages) {
  const byKind = new Map();
  for (const name of packages) {
    const root = join(nodeModules, name);
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    for (const key of Object.keys(manifest.exports).filter((k) => GROUP_VERSION.test(k))) {
      const mod = await import(pathToFileURL(join(root, manifest.exports[key].import)).href);
      for (const cls of Object.values(mod)) {
        if (typeof cls === "function" && cls.apiVersion && cls.kind && cls.prototype.validate) {
          byKind.set(`${cls.apiVersion}/${cls.kind}`, cls);
        }
      }
    }
  }
  return byKind;
}

function tracker() {
  const records = [];
  const proxies = new WeakMap();
  const wrap = (value, path) => {
    if (value === null || typeof value !== "object") return value;
    if (proxies.has(value)) return proxies.get(value);
    const record = { value, path, read: new Set(), enumerated: false };
    records.push(record);
    const proxy = new Proxy(value, {
      get(target, key) {
        if (typeof key !== "string") return Reflect.get(target, key);
        record.read.add(key);
        return wrap(Reflect.get(target, key), `${path}/${key}`);
      },
      has(target, key) {
        record.read.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        record.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  const unknown = () => records
    .filter((r) => !Array.isArray(r.value) && !r.enumerated && r.read.size > 0)
    .flatMap((r) => Object.keys(r.value).filter((k) => !r.read.has(k))
      .map((k) => ({ path: `${r.path}/${k}`, message: "unknown field (not in the schema)" })));
  return { wrap, unknown };
}

function check(cls, doc) {
  const { wrap, unknown } = tracker();
  const errors = [];
  try {
    cls.prototype.validate.call(wrap(doc, ""));
  } catch (e) {
    if (!Array.isArray(e.errors)) throw e;
    for (const err of e.errors) errors.push({ path: err.instancePath, message: err.message ?? err.keyword });
  }
  const seen = new Set();
  return [...errors, ...unknown()].filter((e) => {
    const key = `${e.path}\u0000${e.message}`;
    return seen.has(key) ? false : seen.add(key);
  });
}

const [nodeModules, ...rest] = process.argv.slice(2);
const byKind = await registry(nodeModules, rest.filter((a) => a !== "--kinds"));
if (rest.includes("--kinds")) {
  process.stdout.write(JSON.stringify([...byKind.keys()].sort()));
} else {
  const docs = JSON.parse(readFileSync(0, "utf8"));
  process.stdout.write(JSON.stringify(docs.map((doc) => {
    const cls = byKind.get(`${doc?.apiVersion}/${doc?.kind}`);
    return cls ? check(cls, doc) : null;
  })));
}
