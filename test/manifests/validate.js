// Validate Kubernetes objects against the API schemas, as the API server
// would with strict field validation:
//  1. the kubernetes-models JSON-schema validators (types, enums, formats,
//     required fields), generated from the Kubernetes OpenAPI spec;
//  2. the TypeScript compiler over the same package's type declarations,
//     whose excess-property check rejects unknown fields (a misspelled
//     readOnlyRootFilesystem would otherwise be dropped silently);
//  3. the DaemonSet's least-privilege policy (see policy below).
//
// usage: node validate.js FILE.yaml...   (multi-document YAML)
// Prints one line per object and exits 1 when anything is invalid.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const YAML = require("yaml");
const ts = require("typescript");

const errors = [];
const objects = [];

function modelPath(apiVersion, kind) {
    return `kubernetes-models/${apiVersion}/${kind}`;
}

function load(file) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
    for (const doc of docs) {
        if (doc.errors.length) {
            errors.push(`${file}: YAML: ${doc.errors[0].message}`);
            continue;
        }
        const obj = doc.toJS();
        if (obj === null || obj === undefined) continue;
        const where = `${file}: ${obj.kind}/${obj.metadata && obj.metadata.name}`;
        objects.push({ file, obj, where });
    }
}

function schemaCheck(o) {
    let Model;
    try {
        Model = require(modelPath(o.obj.apiVersion, o.obj.kind))[o.obj.kind];
    } catch (e) {
        errors.push(`${o.where}: no schema for apiVersion ${o.obj.apiVersion} kind ${o.obj.kind}`);
        return false;
    }
    try {
        new Model(o.obj).validate();
    } catch (e) {
        errors.push(`${o.where}: ${e.message}`);
        return false;
    }
    return true;
}

// One typed constant per object, one object per line, checked at once.
function unknownFieldCheck(list) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kgdp-validate-"));
    const file = path.join(dir, "objects.ts");
    const lines = [];
    list.forEach((o, i) => {
        const iface = `I${o.obj.kind}`;
        lines.push(`import type { ${iface} as T${i} } from "${modelPath(o.obj.apiVersion, o.obj.kind)}";`);
    });
    const first = lines.length;
    list.forEach((o, i) => lines.push(`export const o${i}: T${i} = ${JSON.stringify(o.obj)};`));
    fs.writeFileSync(file, lines.join("\n") + "\n");
    const program = ts.createProgram([file], {
        noEmit: true, strict: true, skipLibCheck: true, target: ts.ScriptTarget.ES2020,
        module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
        typeRoots: [], types: [], baseUrl: __dirname, paths: { "*": [path.join(process.env.NODE_PATH || "", "*")] },
    });
    const bad = new Set();
    for (const d of ts.getPreEmitDiagnostics(program)) {
        const text = ts.flattenDiagnosticMessageText(d.messageText, " ");
        if (!d.file || d.file.fileName !== file) {
            errors.push(`type check: ${text}`);
            continue;
        }
        const line = d.file.getLineAndCharacterOfPosition(d.start).line;
        const i = line - first;
        if (i < 0) {
            errors.push(`type check: ${text}`);
            continue;
        }
        bad.add(i);
        errors.push(`${list[i].where}: ${text}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    return bad;
}

// The least-privilege settings every rendering of our DaemonSet keeps.
const HOST_PATHS = {
    "/var/lib/kubelet/device-plugins": false,
    "/var/run/cdi": false,
    "/sys": true,
    "/dev/vfio": true,
    "/etc/kubernetes/node-feature-discovery/features.d": false,
};

function policyCheck(o) {
    const obj = o.obj;
    if (obj.kind !== "DaemonSet" || obj.metadata.name !== "kata-gpu-device-plugin") return true;
    const fail = (msg) => { errors.push(`${o.where}: policy: ${msg}`); return false; };
    const spec = obj.spec.template.spec;
    if (spec.hostNetwork || spec.hostPID || spec.hostIPC) return fail("host namespaces");
    if (spec.priorityClassName !== "system-node-critical") return fail("priorityClassName");
    if (!(spec.tolerations || []).some((t) => t.key === "nvidia.com/gpu")) return fail("toleration nvidia.com/gpu");
    if (!spec.nodeSelector || Object.keys(spec.nodeSelector).length !== 1) return fail("one node selector label");
    if (!spec.securityContext || !spec.securityContext.seccompProfile ||
        spec.securityContext.seccompProfile.type !== "RuntimeDefault") return fail("seccompProfile RuntimeDefault");
    if (spec.containers.length !== 1 || (spec.initContainers || []).length) return fail("one container");
    const c = spec.containers[0];
    const sc = c.securityContext || {};
    if (sc.privileged !== false) return fail("privileged must be false");
    if (sc.allowPrivilegeEscalation !== false) return fail("allowPrivilegeEscalation must be false");
    if (sc.readOnlyRootFilesystem !== true) return fail("readOnlyRootFilesystem must be true");
    const caps = sc.capabilities || {};
    if (JSON.stringify(caps.drop) !== '["ALL"]' || (caps.add || []).length) return fail("capabilities: drop ALL, add none");
    const probe = c.livenessProbe && c.livenessProbe.exec && c.livenessProbe.exec.command;
    if (!probe || probe[probe.length - 1] !== "health") return fail("liveness probe: exec health");
    for (const k of ["requests", "limits"])
        if (!c.resources || !c.resources[k] || !c.resources[k].memory || !c.resources[k].cpu)
            return fail(`resources.${k} cpu and memory`);
    const seen = {};
    for (const v of spec.volumes) {
        if (!v.hostPath) continue;
        if (!(v.hostPath.path in HOST_PATHS)) return fail(`hostPath ${v.hostPath.path} is not allowed`);
        const m = c.volumeMounts.find((vm) => vm.name === v.name);
        if (!m || m.mountPath !== v.hostPath.path) return fail(`hostPath ${v.hostPath.path} mounted elsewhere`);
        if (!!m.readOnly !== HOST_PATHS[v.hostPath.path])
            return fail(`hostPath ${v.hostPath.path} must be ${HOST_PATHS[v.hostPath.path] ? "read-only" : "read-write"}`);
        seen[v.hostPath.path] = true;
    }
    for (const p of Object.keys(HOST_PATHS)) if (!seen[p]) return fail(`hostPath ${p} missing`);
    return true;
}

function main(files) {
    if (!files.length) {
        console.error("usage: node validate.js FILE.yaml...");
        process.exit(2);
    }
    files.forEach(load);
    const schemaOk = objects.map(schemaCheck);
    const typeBad = unknownFieldCheck(objects);
    let good = 0;
    objects.forEach((o, i) => {
        const ok = schemaOk[i] && !typeBad.has(i) && policyCheck(o);
        if (ok) good++;
        console.log(`${ok ? "valid  " : "INVALID"} ${o.where}`);
    });
    for (const e of errors) console.log(`  error: ${e}`);
    // An error that names no object (YAML syntax) still fails the run.
    const failed = objects.length - good || (errors.length ? 1 : 0);
    console.log(`${good} passed, ${failed} failed`);
    process.exit(errors.length || good !== objects.length || !objects.length ? 1 : 0);
}

main(process.argv.slice(2));
