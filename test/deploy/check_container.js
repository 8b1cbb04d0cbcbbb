'use strict';
// Static checks of the container files (no Docker engine runs here): the
// Dockerfile builds with scripts/deps.sh's package list and runs as non-root;
// docker-compose.yml wires PostgreSQL, Redis, the bridge, Prometheus and
// Grafana with secrets from uncommitted files.
//
// Usage: node check_container.js

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const YAML = require('yaml');
const { ROOT, check, exitCode, designEnvVars } = require('./lib.js');

const DOCKERFILE = path.join(ROOT, 'Dockerfile');
const COMPOSE = path.join(ROOT, 'docker-compose.yml');
const DEPS = path.join(ROOT, 'scripts/deps.sh');

// Dockerfile -> stages [{name, base, lines: [instruction text]}], with line
// continuations joined.
function parseDockerfile(text) {
	const joined = text.replace(/\\\r?\n/g, ' ');
	const stages = [];
	const args = {};
	for (const raw of joined.split('\n')) {
		const line = raw.trim();
		if (!line || line.startsWith('#')) continue;
		const [instr, ...rest] = line.split(/\s+/);
		const body = rest.join(' ');
		const up = instr.toUpperCase();
		if (up === 'ARG' && stages.length === 0) {
			const m = body.match(/^(\w+)=(\S+)/);
			if (m) args[m[1]] = m[2];
		} else if (up === 'FROM') {
			const m = body.match(/^(\S+)(?:\s+AS\s+(\S+))?/i);
			const base = m[1].replace(/\$\{(\w+)\}|\$(\w+)/g, (a, x, y) => args[x || y] || a);
			stages.push({ name: m[2] || String(stages.length), base, lines: [] });
		} else if (stages.length) {
			stages[stages.length - 1].lines.push([up, body]);
		}
	}
	return stages;
}

// Packages named by `apt-get install` commands in RUN instructions.
function aptPackages(stage) {
	const pkgs = [];
	for (const [instr, body] of stage.lines) {
		if (instr !== 'RUN') continue;
		for (const cmd of body.split(/&&|;|\|\|/)) {
			const m = cmd.match(/apt-get\s+install\s+(.*)$/);
			if (!m) continue;
			for (const tok of m[1].trim().split(/\s+/)) {
				if (tok.startsWith('-') || tok.startsWith('>') || tok.includes('/dev/null')) continue;
				pkgs.push(tok);
			}
		}
	}
	return pkgs;
}

// The package arrays of scripts/deps.sh, evaluated by bash itself.
function depsLists() {
	const script = `set -e
eval "$(sed -n '/^BUILD_PKGS=(/,/^)/p; /^TEST_PKGS=(/,/^)/p' "$1")"
echo "\${BUILD_PKGS[*]:-}"
echo "\${TEST_PKGS[*]:-}"`;
	const out = execFileSync('bash', ['-c', script, 'deps', DEPS], { encoding: 'utf8' }).split('\n');
	return { build: out[0].split(/\s+/).filter(Boolean), test: out[1].split(/\s+/).filter(Boolean) };
}

function main() {
	const text = fs.readFileSync(DOCKERFILE, 'utf8');
	const stages = parseDockerfile(text);
	const byName = new Map(stages.map((s) => [s.name, s]));

	// Bases and stages.
	const base = [];
	for (const s of stages) {
		if (!/^(debian:12(-slim)?|debian:bookworm(-slim)?|node:20-bookworm(-slim)?)(@sha256:[0-9a-f]+)?$/.test(s.base) && !byName.has(s.base)) {
			base.push(`stage ${s.name} is based on ${s.base}, not Debian 12`);
		}
	}
	for (const need of ['build', 'dashboard', 'postgres', 'bridge']) if (!byName.has(need)) base.push(`no stage "${need}"`);
	check(`Dockerfile: ${stages.length} stages (${stages.map((s) => s.name).join(', ')}), all on Debian 12`, base);

	// Non-root runtime stages.
	const users = [];
	for (const name of ['postgres', 'bridge']) {
		const s = byName.get(name);
		if (!s) continue;
		const u = s.lines.filter(([i]) => i === 'USER').map(([, b]) => b.trim());
		const last = u[u.length - 1];
		if (!last || last === 'root' || last === '0' || last.startsWith('0:')) users.push(`stage ${name} runs as ${last || 'root'}`);
		if (!s.lines.some(([i]) => i === 'ENTRYPOINT' || i === 'CMD')) users.push(`stage ${name} has no ENTRYPOINT`);
	}
	check('Dockerfile: postgres and bridge images run as non-root users', users);

	// Build steps: the same as CI's.
	const steps = [];
	const build = byName.get('build');
	const buildRuns = build ? build.lines.filter(([i]) => i === 'RUN').map(([, b]) => b).join('\n') : '';
	if (!/scripts\/deps\.sh build\b/.test(buildRuns)) steps.push('build stage does not run scripts/deps.sh build');
	if (!/\bmake\b(?! -C)/.test(buildRuns)) steps.push('build stage does not run make');
	if (!/make -C bridge/.test(buildRuns)) steps.push('build stage does not run make -C bridge');
	if (!/make install/.test(buildRuns)) steps.push('build stage does not run make install');
	const dashRuns = (byName.get('dashboard') || { lines: [] }).lines.filter(([i]) => i === 'RUN').map(([, b]) => b).join('\n');
	if (!/npm ci\b/.test(dashRuns) || !/npm run build\b/.test(dashRuns)) steps.push('dashboard stage does not run npm ci && npm run build');
	for (const s of stages) {
		for (const [i, b] of s.lines) {
			if (i === 'COPY' || i === 'ADD') {
				const m = b.match(/^(?:--\S+\s+)*(.+)\s+\S+$/);
				const from = /--from=/.test(b);
				if (!from && m) {
					for (const src of m[1].split(/\s+/)) {
						if (src !== '.' && !fs.existsSync(path.join(ROOT, src.replace(/\/$/, ''))) && !/^(dashboard|bridge|policies)\b/.test(src)) {
							steps.push(`stage ${s.name}: COPY source ${src} does not exist`);
						}
					}
				}
			}
		}
	}
	check('Dockerfile: builds with deps.sh, make, make -C bridge, make install, npm ci, npm run build', steps);

	// Package lists against scripts/deps.sh.
	const pk = [];
	if (!fs.existsSync(DEPS)) {
		pk.push('scripts/deps.sh does not exist');
	} else {
		const deps = depsLists();
		const all = new Set([...deps.build, ...deps.test]);
		const devLibs = deps.build.filter((p) => /^lib.+-dev$/.test(p));
		for (const s of stages) {
			for (const p of aptPackages(s)) {
				const runtimeOf = devLibs.find((d) => p !== d && p.startsWith(d.replace(/-dev$/, '')) && !p.endsWith('-dev'));
				if (!all.has(p) && !runtimeOf) pk.push(`stage ${s.name} installs ${p}, which is neither in scripts/deps.sh nor the runtime half of one of its -dev packages`);
			}
		}
		const bridge = byName.get('bridge');
		const bridgePkgs = bridge ? aptPackages(bridge) : [];
		for (const d of devLibs) {
			const stem = d.replace(/-dev$/, '');
			if (!bridgePkgs.some((p) => p.startsWith(stem) && !p.endsWith('-dev'))) pk.push(`bridge stage lacks the runtime library of ${d}`);
		}
		const pg = byName.get('postgres');
		if (pg && !aptPackages(pg).some((p) => deps.build.includes(p) && /^postgresql-\d+$/.test(p))) pk.push('postgres stage does not install the deps.sh PostgreSQL server package');
	}
	check('Dockerfile: apt packages match scripts/deps.sh (build list, runtime halves of its -dev libraries)', pk);

	// .dockerignore keeps secrets and local state out of the build context.
	const ign = fs.existsSync(path.join(ROOT, '.dockerignore')) ? fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()) : null;
	const ignP = [];
	if (!ign) ignP.push('.dockerignore missing');
	else for (const need of ['.git', 'deploy/secrets', '**/node_modules', '.local']) if (!ign.includes(need)) ignP.push(`.dockerignore lacks ${need}`);
	check('.dockerignore: excludes .git, secrets, node_modules, local state', ignP);

	// docker-compose.yml.
	let compose;
	try {
		compose = YAML.parse(fs.readFileSync(COMPOSE, 'utf8'), { merge: true });
		check('docker-compose.yml parses', []);
	} catch (e) {
		check('docker-compose.yml parses', [String(e.message || e)]);
		process.exitCode = exitCode();
		return;
	}
	const svc = compose.services || {};
	const cp = [];
	for (const need of ['postgres', 'redis', 'bridge', 'prometheus', 'grafana']) if (!svc[need]) cp.push(`no service ${need}`);
	for (const [n, s] of Object.entries(svc)) {
		if (s.build && s.build.target && !byName.has(s.build.target)) cp.push(`service ${n} builds target ${s.build.target}, not a Dockerfile stage`);
		for (const v of s.volumes || []) {
			const src = String(v).split(':')[0];
			if (src.startsWith('./') && !fs.existsSync(path.join(ROOT, src))) cp.push(`service ${n} mounts ${src}, which does not exist`);
		}
		for (const sec of s.secrets || []) {
			const name = typeof sec === 'string' ? sec : sec.source;
			if (!compose.secrets || !compose.secrets[name]) cp.push(`service ${n} uses undeclared secret ${name}`);
		}
	}
	if (svc.postgres && (!svc.postgres.build || svc.postgres.build.target !== 'postgres')) cp.push('postgres is not built from the Dockerfile stage with the extension');
	if (svc.bridge && (!svc.bridge.build || svc.bridge.build.target !== 'bridge')) cp.push('bridge is not built from the Dockerfile bridge stage');
	const redisCmd = svc.redis ? [].concat(svc.redis.command || []).join(' ') : '';
	if (!/--maxmemory-policy\s+noeviction/.test(redisCmd)) cp.push('redis does not run with maxmemory-policy noeviction');
	check('docker-compose.yml: postgres (extension stage), redis (noeviction), bridge, prometheus, grafana wired', cp);

	const env = [];
	const allowed = new Set(designEnvVars());
	const benv = (svc.bridge && svc.bridge.environment) || {};
	for (const k of Object.keys(benv)) if (!allowed.has(k)) env.push(`bridge sets ${k}, not a bridge variable of DESIGN.md §2`);
	for (const k of ['AGENTIDP_REDIS_URL', 'AGENTIDP_ISSUER']) if (!(k in benv)) env.push(`bridge does not set ${k}`);
	if ('AGENTIDP_DATABASE_URL' in benv) env.push('AGENTIDP_DATABASE_URL carries a password: give it as the agentidp_database_url secret');
	if (!((svc.bridge && svc.bridge.secrets) || []).includes('agentidp_database_url')) env.push('bridge does not get the agentidp_database_url secret');
	const entry = fs.readFileSync(path.join(ROOT, 'deploy/docker/bridge-entrypoint.sh'), 'utf8');
	if (!/\/run\/secrets\/agentidp_database_url/.test(entry) || !/AGENTIDP_DATABASE_URL/.test(entry)) env.push('bridge-entrypoint.sh does not read AGENTIDP_DATABASE_URL from the secret');
	const pgIssuer = svc.postgres && svc.postgres.environment && svc.postgres.environment.AGENTIDP_ISSUER;
	if (!pgIssuer || pgIssuer !== benv.AGENTIDP_ISSUER) env.push(`agentidp.issuer (${pgIssuer}) differs from the bridge's AGENTIDP_ISSUER (${benv.AGENTIDP_ISSUER})`);
	if (!((svc.postgres && svc.postgres.secrets) || []).includes('agentidp_kek')) env.push('postgres does not get the agentidp_kek secret');
	check('docker-compose.yml: bridge variables from DESIGN.md §2, issuer equal on both sides, KEK and URL as secrets', env);

	const sec = [];
	for (const [n, s] of Object.entries(compose.secrets || {})) {
		if (!s.file) { sec.push(`secret ${n} is not file-based`); continue; }
		if (!s.file.startsWith('./deploy/secrets/')) sec.push(`secret ${n} file ${s.file} is outside deploy/secrets/`);
	}
	const gi = path.join(ROOT, 'deploy/secrets/.gitignore');
	if (!fs.existsSync(gi) || !fs.readFileSync(gi, 'utf8').split('\n').includes('*')) sec.push('deploy/secrets/.gitignore does not ignore everything');
	for (const [n, s] of Object.entries(svc)) {
		for (const [k, v] of Object.entries(s.environment || {})) {
			if (/PASSWORD|SECRET|KEK|TOKEN|KEY/.test(k) && !/__FILE$/.test(k) && v !== undefined && v !== null && String(v) !== '') {
				sec.push(`service ${n} sets ${k} to a literal`);
			}
		}
	}
	check('docker-compose.yml: secrets only from uncommitted files in deploy/secrets/', sec);

	const obs = [];
	const promVol = ((svc.prometheus && svc.prometheus.volumes) || []).join(' ');
	if (!promVol.includes('./deploy/prometheus')) obs.push('prometheus does not mount deploy/prometheus (config and alert rules)');
	const grafVol = ((svc.grafana && svc.grafana.volumes) || []).join(' ');
	if (!grafVol.includes('./deploy/grafana/agentidp.json')) obs.push('grafana does not mount the dashboard');
	if (!grafVol.includes('./deploy/grafana/provisioning')) obs.push('grafana does not mount its provisioning');
	const promCfg = YAML.parse(fs.readFileSync(path.join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8'));
	const targets = (promCfg.scrape_configs || []).flatMap((s) => (s.static_configs || []).flatMap((c) => c.targets || []));
	const listen = String(benv.AGENTIDP_LISTEN || '').split(':').pop();
	if (!targets.includes(`bridge:${listen}`)) obs.push(`prometheus scrapes ${targets.join(', ')}, not bridge:${listen}`);
	check('docker-compose.yml: prometheus scrapes the bridge with the rules, grafana provisioned', obs);

	// Every PostgreSQL configuration preloads the extension: until agentidp is
	// loaded in a backend, the KEK from the config file is a placeholder any
	// role can read (DESIGN.md §3 notes).
	const preload = [];
	for (const f of ['deploy/docker/postgres-entrypoint.sh', 'terraform/scripts/postgres-host.sh']) {
		const t = fs.readFileSync(path.join(ROOT, f), 'utf8');
		if (!/^shared_preload_libraries\s*=\s*'agentidp'/m.test(t)) preload.push(`${f} does not set shared_preload_libraries = 'agentidp'`);
		if (!/key_encryption_key/.test(t)) preload.push(`${f} does not configure agentidp.key_encryption_key`);
	}
	check('PostgreSQL configs (container and cloud hosts) preload agentidp and set the KEK', preload);
	process.exitCode = exitCode();
}

try {
	main();
} catch (e) {
	console.log(`not ok - container checks crashed: ${e.stack || e}`);
	process.exitCode = 1;
}
