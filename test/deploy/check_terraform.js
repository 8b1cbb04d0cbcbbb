'use strict';
// Structural checks of terraform/ without a terraform binary: every .tf file is
// parsed with HashiCorp's HCL parser (@cdktf/hcl2json, the Go hcl2 library
// compiled to WebAssembly) and the parsed configuration is checked for what
// `terraform validate` would catch first plus this project's own rules.
//
// Usage: node check_terraform.js [terraform-dir]

const fs = require('fs');
const path = require('path');
const hcl = require('@cdktf/hcl2json');
const { ROOT, check, exitCode, designEnvVars } = require('./lib.js');

const TF_ROOT = path.resolve(process.argv[2] || path.join(ROOT, 'terraform'));

// Reference roots that are not declared objects.
const BUILTIN_ROOTS = new Set(['count', 'each', 'self', 'path', 'terraform']);
// Arguments of a module block that are not input variables.
const MODULE_META = new Set(['source', 'version', 'providers', 'count', 'for_each', 'depends_on']);
// Attributes whose literal value would be a secret.
const SECRET_ATTR = /^(password|master_password|passwd|secret|secret_string|secret_string_wo|secret_data|secret_data_wo|secret_binary|token|auth_token|api_key|access_key|secret_key|private_key|kek|key_encryption_key)$/i;
// Variable names that must never carry a default value.
const SECRET_VAR = /(password|passwd|secret_value|token|kek|key_encryption|private_key|api_key|access_key)/i;
// Text that is a secret wherever it appears.
const SECRET_TEXT = [
	[/aidp_sk_[A-Za-z0-9_-]{8,}/, 'an AgentIdP client secret'],
	[/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a PEM private key'],
	[/\bAKIA[0-9A-Z]{16}\b/, 'an AWS access key id'],
	[/"type"\s*:\s*"service_account"/, 'a GCP service-account key'],
	[/agentidp\.key_encryption_key\s*=\s*'[^'%$]/, 'a literal key-encryption key'],
	[/postgres(ql)?:\/\/[^:@\s/]+:[^@\s$]+@/, 'a password in a connection URL'],
];

function walkDirs(dir) {
	const out = [];
	for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
		if (e.name.startsWith('.')) continue;
		if (e.isDirectory()) out.push(...walkDirs(path.join(dir, e.name)));
	}
	if (fs.readdirSync(dir).some((f) => f.endsWith('.tf'))) out.push(dir);
	return out;
}

function rel(p) {
	return path.relative(ROOT, p);
}

// Parse every .tf file of a module directory; returns the merged blocks.
async function loadModule(dir) {
	const mod = {
		dir, files: [], errors: [],
		variable: {}, output: {}, locals: {}, module: {}, resource: {}, data: {}, ephemeral: {},
		blocks: [], // [kind, address, body, file]
	};
	for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.tf')).sort()) {
		const file = path.join(dir, f);
		const text = fs.readFileSync(file, 'utf8');
		mod.files.push({ file, text });
		let j;
		try {
			j = await hcl.parse(f, text);
		} catch (e) {
			mod.errors.push(`${rel(file)}: ${String(e.message || e)}`);
			continue;
		}
		for (const [name, bodies] of Object.entries(j.variable || {})) {
			mod.variable[name] = bodies[0];
			mod.blocks.push(['variable', `var.${name}`, bodies[0], file]);
		}
		for (const [name, bodies] of Object.entries(j.output || {})) {
			mod.output[name] = bodies[0];
			mod.blocks.push(['output', `output.${name}`, bodies[0], file]);
		}
		for (const body of j.locals || []) {
			for (const [name, v] of Object.entries(body)) {
				mod.locals[name] = v;
				mod.blocks.push(['locals', `local.${name}`, v, file]);
			}
		}
		for (const [name, bodies] of Object.entries(j.module || {})) {
			mod.module[name] = bodies[0];
			mod.blocks.push(['module', `module.${name}`, bodies[0], file]);
		}
		for (const kind of ['resource', 'data', 'ephemeral']) {
			for (const [type, byName] of Object.entries(j[kind] || {})) {
				for (const [name, bodies] of Object.entries(byName)) {
					mod[kind][`${type}.${name}`] = bodies[0];
					const addr = kind === 'resource' ? `${type}.${name}` : `${kind}.${type}.${name}`;
					mod.blocks.push([kind, addr, bodies[0], file]);
				}
			}
		}
		for (const kind of ['provider', 'terraform', 'check', 'moved', 'import']) {
			if (j[kind]) mod.blocks.push([kind, kind, j[kind], file]);
		}
	}
	return mod;
}

// Every string in a parsed body, with the attribute path that holds it.
function* strings(v, at = []) {
	if (typeof v === 'string') yield [at, v];
	else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) yield* strings(v[i], at.concat(i));
	else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) yield* strings(x, at.concat(k));
}

// Every [key, value] attribute pair in a parsed body.
function* attrs(v, at = []) {
	if (Array.isArray(v)) for (let i = 0; i < v.length; i++) yield* attrs(v[i], at.concat(i));
	else if (v && typeof v === 'object') {
		for (const [k, x] of Object.entries(v)) {
			yield [k, x, at.concat(k)];
			yield* attrs(x, at.concat(k));
		}
	}
}

// Names that dynamic blocks introduce as iterators (the block label, or its
// iterator argument).
function dynamicIterators(body) {
	const names = new Set();
	for (const [k, v] of attrs(body)) {
		if (k !== 'dynamic' || !v || typeof v !== 'object') continue;
		for (const [label, bodies] of Object.entries(v)) {
			names.add(label);
			for (const b of [].concat(bodies)) if (b && typeof b.iterator === 'string') names.add(b.iterator);
		}
	}
	return names;
}

async function references(file, s) {
	if (!s.includes('${')) return [];
	return (await hcl.getReferencesInExpression(path.basename(file), s)).map((r) => r.value);
}

// Check that a reference names something declared; returns a problem or null.
function resolveRef(mod, ref, iterators, modules) {
	const parts = ref.split('.');
	const root = parts[0];
	if (BUILTIN_ROOTS.has(root) || iterators.has(root)) return null;
	switch (root) {
	case 'var':
		return parts[1] in mod.variable ? null : `undeclared variable var.${parts[1]}`;
	case 'local':
		return parts[1] in mod.locals ? null : `undeclared local.${parts[1]}`;
	case 'module': {
		if (!(parts[1] in mod.module)) return `undeclared module.${parts[1]}`;
		const target = modules.get(parts[1]);
		if (target && parts[2] !== undefined && !(parts[2] in target.output)) {
			return `module.${parts[1]} has no output "${parts[2]}"`;
		}
		return null;
	}
	case 'data':
	case 'ephemeral':
		return `${parts[1]}.${parts[2]}` in mod[root] ? null : `undeclared ${root}.${parts[1]}.${parts[2]}`;
	default:
		if (parts.length < 2) return `unknown reference ${ref}`;
		return `${parts[0]}.${parts[1]}` in mod.resource ? null : `undeclared resource ${parts[0]}.${parts[1]}`;
	}
}

// Environment variable names a container definition expression sets: literal
// `name = "X"` pairs plus the keys of locals it iterates over.
async function ecsEnvNames(mod, file, expr) {
	const names = new Map();
	for (const m of expr.matchAll(/\bname\s*=\s*"([A-Z][A-Z0-9_]*)"/g)) names.set(m[1], null);
	for (const r of await references(file, expr)) {
		const [root, name] = r.split('.');
		if (root !== 'local') continue;
		const v = mod.locals[name];
		if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).every((k) => /^[A-Z][A-Z0-9_]*$/.test(k))) {
			for (const [k, x] of Object.entries(v)) names.set(k, x);
		}
	}
	return names;
}

// Environment variables of Cloud Run v2 services: template.containers.env.
function cloudRunEnvNames(body) {
	const names = new Map();
	for (const t of [].concat(body.template || [])) {
		for (const c of [].concat(t.containers || [])) {
			for (const e of [].concat(c.env || [])) {
				if (e && typeof e.name === 'string') names.set(e.name, e.value !== undefined ? e.value : e.value_source);
			}
		}
	}
	return names;
}

function unwrap(expr) {
	const m = typeof expr === 'string' && expr.match(/^\$\{(.*)\}$/s);
	return m ? m[1].trim() : expr;
}

async function main() {
	const envAllowed = new Set(designEnvVars());
	const envRequired = ['AGENTIDP_DATABASE_URL', 'AGENTIDP_REDIS_URL', 'AGENTIDP_ISSUER'];
	const dirs = walkDirs(TF_ROOT);
	check(`terraform: module directories found (${dirs.map(rel).join(', ')})`, dirs.length ? [] : ['no .tf files under terraform/']);

	const loaded = new Map();
	for (const d of dirs) loaded.set(d, await loadModule(d));

	let bridgesSeen = 0;
	for (const mod of loaded.values()) {
		const name = rel(mod.dir);
		check(`${name}: every .tf file parses (${mod.files.length} files)`, mod.errors);

		// Variables: typed and described; secret-like ones without a default.
		const varProblems = [];
		for (const [v, body] of Object.entries(mod.variable)) {
			if (!body.type) varProblems.push(`variable "${v}" has no type`);
			if (typeof body.description !== 'string' || body.description.trim().length < 10) {
				varProblems.push(`variable "${v}" has no description`);
			}
			if (SECRET_VAR.test(v) && 'default' in body && body.default !== null) {
				varProblems.push(`variable "${v}" looks secret and has a default value`);
			}
		}
		check(`${name}: ${Object.keys(mod.variable).length} variables typed and described`, varProblems);

		// Outputs: described; the issuer URL is one of them.
		const outProblems = [];
		for (const [o, body] of Object.entries(mod.output)) {
			if (typeof body.description !== 'string' || !body.description.trim()) outProblems.push(`output "${o}" has no description`);
			if (!('value' in body)) outProblems.push(`output "${o}" has no value`);
		}
		if (!('issuer_url' in mod.output)) outProblems.push('no output "issuer_url"');
		check(`${name}: outputs described, issuer_url present`, outProblems);

		// Module calls: source exists, every argument is a variable there and
		// every variable without a default is passed.
		const callees = new Map();
		const wiring = [];
		for (const [m, body] of Object.entries(mod.module)) {
			const src = body.source;
			if (typeof src !== 'string' || !/^\.\.?\//.test(src)) {
				wiring.push(`module "${m}": source ${JSON.stringify(src)} is not a local path`);
				continue;
			}
			const target = loaded.get(path.resolve(mod.dir, src));
			if (!target) {
				wiring.push(`module "${m}": ${src} holds no .tf files`);
				continue;
			}
			callees.set(m, target);
			for (const arg of Object.keys(body)) {
				if (!MODULE_META.has(arg) && !(arg in target.variable)) wiring.push(`module "${m}": argument "${arg}" is not a variable of ${rel(target.dir)}`);
			}
			for (const [v, vb] of Object.entries(target.variable)) {
				if (!('default' in vb) && !(v in body)) wiring.push(`module "${m}": required variable "${v}" not passed`);
			}
		}
		if (Object.keys(mod.module).length) {
			check(`${name}: ${Object.keys(mod.module).length} module calls wired to their variables`, wiring);
		}

		// References: everything referenced is declared; every variable is used.
		const refProblems = [];
		const used = new Set();
		for (const [kind, addr, body, file] of mod.blocks) {
			const iterators = dynamicIterators(body);
			for (const [at, s] of strings(body)) {
				// Type constraints and ignore_changes name types and attributes,
				// not objects.
				// provider/providers name provider configurations.
				if ((kind === 'variable' && at[0] === 'type') || at.includes('ignore_changes') ||
					at[0] === 'provider' || at[0] === 'providers') continue;
				for (const ref of await references(file, s)) {
					const p = resolveRef(mod, ref, iterators, callees);
					if (p) refProblems.push(`${rel(file)} ${addr}: ${p}`);
					if (ref.startsWith('var.')) used.add(ref.split('.')[1]);
				}
			}
		}
		for (const v of Object.keys(mod.variable)) if (!used.has(v)) refProblems.push(`variable "${v}" is never used`);
		const counts = ['resource', 'data', 'ephemeral', 'module'].map((k) => `${Object.keys(mod[k]).length} ${k}`).join(', ');
		check(`${name}: every reference resolves (${counts}, ${Object.keys(mod.locals).length} locals)`, refProblems);

		// Template files named by templatefile()/file() exist.
		const fileProblems = [];
		for (const { file, text } of mod.files) {
			for (const m of text.matchAll(/\b(?:templatefile|file)\(\s*"\$\{path\.module\}\/([^"]+)"/g)) {
				if (!fs.existsSync(path.join(mod.dir, m[1]))) fileProblems.push(`${rel(file)}: ${m[1]} does not exist`);
			}
		}
		check(`${name}: files read by file()/templatefile() exist`, fileProblems);

		// No literal secrets in .tf files or the templates next to them.
		const secretProblems = [];
		for (const [kind, addr, body, file] of mod.blocks) {
			if (kind === 'variable' || kind === 'output') continue;
			for (const [k, v] of attrs(body)) {
				if (SECRET_ATTR.test(k) && typeof v === 'string' && v !== '' && !v.includes('${')) {
					secretProblems.push(`${rel(file)} ${addr}: ${k} is a literal`);
				}
				// A readable secret argument would store the value in the state.
				if (/^(secret_string|secret_data)$/.test(k)) secretProblems.push(`${rel(file)} ${addr}: use ${k}_wo (write-only) so the value stays out of the state`);
			}
		}
		const scanned = [...mod.files];
		const tdir = path.join(mod.dir, 'templates');
		if (fs.existsSync(tdir)) {
			for (const f of fs.readdirSync(tdir)) scanned.push({ file: path.join(tdir, f), text: fs.readFileSync(path.join(tdir, f), 'utf8') });
		}
		for (const { file, text } of scanned) {
			for (const [re, what] of SECRET_TEXT) if (re.test(text)) secretProblems.push(`${rel(file)}: contains ${what}`);
		}
		check(`${name}: no literal secrets`, secretProblems);

		// The bridge's environment: a subset of DESIGN.md §2 including the
		// database, Redis and issuer; the issuer is the issuer_url output and
		// the value the PostgreSQL hosts get as agentidp.issuer.
		const services = [];
		for (const [addr, body] of Object.entries(mod.resource)) {
			if (addr.startsWith('aws_ecs_task_definition.') && typeof body.container_definitions === 'string') {
				services.push([addr, await ecsEnvNames(mod, mod.files[0].file, body.container_definitions)]);
			} else if (addr.startsWith('google_cloud_run_v2_service.')) {
				services.push([addr, cloudRunEnvNames(body)]);
			}
		}
		for (const [addr, env] of services) {
			bridgesSeen++;
			const p = [];
			for (const n of env.keys()) if (!envAllowed.has(n)) p.push(`${n} is not a bridge variable of DESIGN.md §2`);
			for (const n of envRequired) if (!env.has(n)) p.push(`${n} is not set`);
			check(`${name}: ${addr} sets ${env.size} bridge variables, all from DESIGN.md §2`, p);

			const issuerProblems = [];
			const issuerExpr = unwrap(env.get('AGENTIDP_ISSUER'));
			const outExpr = unwrap(mod.output.issuer_url && mod.output.issuer_url.value);
			if (!issuerExpr || issuerExpr !== outExpr) {
				issuerProblems.push(`AGENTIDP_ISSUER is ${JSON.stringify(issuerExpr)} but output issuer_url is ${JSON.stringify(outExpr)}`);
			}
			let hostIssuers = 0;
			for (const { file, text } of mod.files) {
				for (const m of text.matchAll(/^\s*issuer\s*=\s*(.+?)\s*$/gm)) {
					hostIssuers++;
					if (m[1] !== issuerExpr) issuerProblems.push(`${rel(file)}: PostgreSQL hosts get issuer = ${m[1]}, the bridge ${issuerExpr}`);
				}
			}
			if (hostIssuers === 0) issuerProblems.push('no PostgreSQL host template receives "issuer" (agentidp.issuer)');
			check(`${name}: ${addr} AGENTIDP_ISSUER = output issuer_url = agentidp.issuer of the hosts`, issuerProblems);
		}
	}
	check(`terraform: bridge services found (${bridgesSeen})`, bridgesSeen >= 2 ? [] : ['expected an ECS task definition (aws) and a Cloud Run service (gcp)']);
	process.exitCode = exitCode();
}

main().catch((e) => {
	console.log(`not ok - terraform checks crashed: ${e.stack || e}`);
	process.exitCode = 1;
});
