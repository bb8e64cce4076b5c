// The Socket.IO v4 baseline of `cargo xtask bench fanout --postgres`: what
// a team would build instead of Aegis for the same job. Several instances
// share one PostgreSQL database through @socket.io/postgres-adapter
// (LISTEN/NOTIFY). `POST /api/budgets` inserts a row and bumps the
// feature's seq in one transaction, then emits the same envelope Aegis
// sends (`event` frames' fields) to the `budgets` room. Tokens are the same
// HS256 JWTs, checked on connect and on every subscribe and write. Unlike
// Aegis it keeps no event log, so it has nothing to replay.
//
// Environment: PORT, DATABASE_URL, AEGIS_JWT_SECRET.

import { createServer } from 'node:http';
import process from 'node:process';

import { createAdapter } from '@socket.io/postgres-adapter';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import { Server } from 'socket.io';

const PORT = Number(process.env.PORT);
const SECRET = process.env.AEGIS_JWT_SECRET;
const FEATURE = 'budgets';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 16 });
pool.on('error', (error) => process.stderr.write(`postgres: ${error.message}\n`));

async function createTables() {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Instances start together: one creates, the others wait.
    await client.query('SELECT pg_advisory_xact_lock(7411205)');
    await client.query(`CREATE TABLE IF NOT EXISTS socket_io_attachments (
      id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)`);
    await client.query(`CREATE TABLE IF NOT EXISTS budgets (
      id bigserial PRIMARY KEY, name text NOT NULL, amount double precision NOT NULL,
      fiscal_year integer NOT NULL, status text NOT NULL, version bigint NOT NULL)`);
    await client.query('CREATE TABLE IF NOT EXISTS feature_seq (feature text PRIMARY KEY, seq bigint NOT NULL)');
    await client.query('INSERT INTO feature_seq VALUES ($1, 0) ON CONFLICT DO NOTHING', [FEATURE]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

function claims(token) {
  try {
    return typeof token === 'string' ? jwt.verify(token, SECRET, { algorithms: ['HS256'] }) : null;
  } catch {
    return null;
  }
}

const grants = (list, feature) => Array.isArray(list) && (list.includes('*') || list.includes(feature));
const mayWrite = (user, feature) => grants(user.write, feature);
const mayRead = (user, feature) => grants(user.read, feature) || mayWrite(user, feature);

// performance.timeOrigin can sit milliseconds off the wall clock, which
// made this baseline's latencies look shorter than they were (below zero
// with few clients). The wall clock at the instant Date.now() ticks over,
// less performance.now() then, anchors the monotonic clock to it within
// microseconds.
const WALL_ANCHOR = (() => {
  const start = Date.now();
  let tick = start;
  while (tick === start) {
    tick = Date.now();
  }
  return tick - performance.now();
})();

/** Now, as RFC 3339 with microseconds (Aegis's precision). */
function timestamp() {
  const now = WALL_ANCHOR + performance.now();
  const millis = Math.floor(now);
  const micros = String(Math.floor((now - millis) * 1000)).padStart(3, '0');
  return new Date(millis).toISOString().replace('Z', `${micros}Z`);
}

function reply(response, status, body) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function readJson(request) {
  const chunks = [];
  for await (const chunk of request) {
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function create(request, response) {
  const user = claims((request.headers.authorization ?? '').replace(/^Bearer /, ''));
  if (!user) return reply(response, 401, { code: 'unauthorized', message: 'a valid bearer token is needed' });
  if (!mayWrite(user, FEATURE)) return reply(response, 403, { code: 'forbidden', message: 'you may not write budgets' });
  let input;
  try {
    input = await readJson(request);
  } catch {
    return reply(response, 400, { code: 'bad_request', message: 'the body is not JSON' });
  }
  const { name, amount, fiscal_year: year, status } = input;
  if (typeof name !== 'string' || typeof amount !== 'number' || !Number.isInteger(year) || typeof status !== 'string') {
    return reply(response, 422, { code: 'unprocessable', message: 'name, amount, fiscal_year and status are needed' });
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const row = (
      await client.query(
        'INSERT INTO budgets (name, amount, fiscal_year, status, version) VALUES ($1, $2, $3, $4, 1) RETURNING *',
        [name, amount, year, status],
      )
    ).rows[0];
    const seq = (await client.query('UPDATE feature_seq SET seq = seq + 1 WHERE feature = $1 RETURNING seq', [FEATURE]))
      .rows[0].seq;
    const meta = {
      timestamp: timestamp(),
      featureVersion: 'v1',
      seq: Number(seq),
      userId: user.sub,
      origin: request.headers['x-aegis-mutation-id'] ?? null,
    };
    await client.query('COMMIT');
    const data = { ...row, id: Number(row.id), version: Number(row.version) };
    io.to(FEATURE).emit('event', { type: 'event', feature: FEATURE, entity: 'budget', action: 'created', data, meta });
    reply(response, 201, data);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    reply(response, 500, { code: 'internal', message: error.message });
  } finally {
    client.release();
  }
}

const http = createServer((request, response) => {
  if (request.method === 'POST' && request.url === `/api/${FEATURE}`) {
    create(request, response);
  } else if (request.method === 'GET' && request.url === '/health') {
    reply(response, 200, { ok: true });
  } else {
    reply(response, 404, { code: 'not_found', message: 'no such route' });
  }
});

await createTables();
const io = new Server(http, { adapter: createAdapter(pool), transports: ['websocket'], serveClient: false });
io.use((socket, next) => {
  const user = claims(socket.handshake.auth?.token);
  if (!user) return next(new Error('unauthorized'));
  socket.data.user = user;
  next();
});
io.on('connection', (socket) => {
  socket.on('subscribe', (feature, ack) => {
    const allowed = typeof feature === 'string' && mayRead(socket.data.user, feature);
    if (allowed) socket.join(feature);
    if (typeof ack === 'function') ack(allowed ? { ok: true } : { error: 'forbidden' });
  });
});
http.listen(PORT, '127.0.0.1');
