// The HTTP API's wire types, defined once (docs/api.md). serve's routes check what arrives with these
// schemas, the client (client/api-client.ts) checks what serve answers with them, and every body's
// type is z.infer of its schema: there is no second, hand-written copy of a shape.
//
// zod/mini rather than zod: its functions tree-shake (this module bundled alone is ~73 KiB, full zod
// 737 KiB; the agent config uses zod/mini too). Still, no client command loads it at start-up, which
// is a feature of a CLI (docs/bench.md): only serve and the agent evaluate it (client/api-client.ts
// says why). What every request needs (the metadata headers, key paths) is in wire.ts, without zod.
import * as z from 'zod/mini'
import en from 'zod/v4/locales/en.js'

// zod/mini carries no messages ("Invalid input" for everything); English ones make a 400 say what is wrong.
z.config(en())

const int = () => z.int()
const count = () => z.int().check(z.nonnegative())
const optional = <T extends z.core.SomeType>(schema: T) => z.optional(schema)
const nullable = <T extends z.core.SomeType>(schema: T) => z.nullable(schema)

// ---- errors -------------------------------------------------------------------------------------

/** Every error answer: `{error: <code>, message: <one line>, hint?: <what to do>}` (errors.ts has the codes). */
export const errorBody = z.object({error: z.string(), message: z.string(), hint: optional(z.string())})
export type ErrorBody = z.infer<typeof errorBody>

// ---- versions -----------------------------------------------------------------------------------

export const versionKind = z.enum(['push', 'rollback', 'out-of-band'])
export type VersionKind = z.infer<typeof versionKind>

/** What is recorded for every version of (env, key). */
export const versionMeta = z.object({
  version: z.int().check(z.positive()),
  sha256: z.string(),
  size: count(),
  author: z.string(),
  message: z.string(),
  /** ISO 8601 */
  time: z.string(),
  kind: versionKind,
})
export type VersionMeta = z.infer<typeof versionMeta>

/**
 * What GET /api/v1/config's headers carry beside the bytes (wire.ts): a version's meta without its
 * message. A message can be long, and proxies refuse long response headers; `history` has it.
 */
export const contentMeta = z.omit(versionMeta, {message: true})
export type ContentMeta = z.infer<typeof contentMeta>

/** PUT /api/v1/config/:env/<key> and POST /api/v1/rollback/:env/<key> */
export const pushAnswer = z.extend(versionMeta, {
  /** false when the bytes equal the current version: nothing was written */
  changed: z.boolean(),
  env: z.string(),
  key: z.string(),
  /** present (true) when this push made the env's first key */
  createdEnv: optional(z.boolean()),
})
export type PushAnswer = z.infer<typeof pushAnswer>

export const rollbackRequest = z.strictObject({to: z.int().check(z.positive()), message: optional(z.string().check(z.maxLength(1000)))})
export type RollbackRequest = z.infer<typeof rollbackRequest>

export const historyAnswer = z.object({env: z.string(), key: z.string(), versions: z.array(versionMeta)})
export type HistoryAnswer = z.infer<typeof historyAnswer>

export const keyEntry = z.extend(versionMeta, {key: z.string()})
export type KeyEntry = z.infer<typeof keyEntry>
export const keysAnswer = z.object({env: z.string(), keys: z.array(keyEntry)})
export type KeysAnswer = z.infer<typeof keysAnswer>

export const envEntry = z.object({env: z.string(), /** keys the env holds now */ keys: count()})
export type EnvEntry = z.infer<typeof envEntry>
export const envsAnswer = z.object({envs: z.array(envEntry)})
export type EnvsAnswer = z.infer<typeof envsAnswer>

// ---- query strings: each parameter is one string (a repeated one is refused); routes check the values

const param = () => optional(z.string())
export const configQuery = z.object({version: param()})
export const historyQuery = z.object({limit: param()})
export const keysQuery = z.object({prefix: param()})
export const instancesQuery = z.object({key: param()})
export const rolloutQuery = z.object({version: param(), seen: param(), timeoutMs: param()})
export const eventsQuery = z.object({env: param()})
/** GET /api/v1/audit: every parameter given narrows the result; any other parameter is refused. */
export const auditQuery = z.object({since: param(), limit: param(), env: param(), key: param(), actor: param(), action: param()})
/** The client's side of auditQuery: the same parameters, `limit` as a number. */
export type AuditFilter = Omit<z.infer<typeof auditQuery>, 'limit'> & {limit?: number}

// ---- audit --------------------------------------------------------------------------------------

export const auditEntry = z.object({
  time: z.string(),
  actor: z.string(),
  action: z.string(),
  env: optional(z.string()),
  key: optional(z.string()),
  version: optional(int()),
  detail: optional(z.string()),
})
export type AuditEntry = z.infer<typeof auditEntry>
export const auditAnswer = z.object({entries: z.array(auditEntry)})
export type AuditAnswer = z.infer<typeof auditAnswer>

// ---- tokens -------------------------------------------------------------------------------------

export const role = z.enum(['viewer', 'agent', 'operator', 'admin'])
export type Role = z.infer<typeof role>

const scope = {envs: optional(z.array(z.string()).check(z.maxLength(100))), hosts: optional(z.array(z.string()).check(z.maxLength(100)))}

/** A token as `token list` shows it; envs/hosts only on scoped tokens. */
export const tokenInfo = z.object({name: z.string(), role, created: z.string(), ...scope})
export type TokenInfo = z.infer<typeof tokenInfo>
export const tokensAnswer = z.object({tokens: z.array(tokenInfo)})
export type TokensAnswer = z.infer<typeof tokensAnswer>

export const tokenCreateRequest = z.strictObject({name: z.string(), role, ...scope})
export type TokenCreateRequest = z.infer<typeof tokenCreateRequest>

/** POST /api/v1/tokens: the token is shown this once. */
export const createdToken = z.object({name: z.string(), role, ...scope, token: z.string()})
export type CreatedToken = z.infer<typeof createdToken>
export const revokeAnswer = z.object({revoked: z.string()})
export type RevokeAnswer = z.infer<typeof revokeAnswer>

// ---- agents: watch and reports ------------------------------------------------------------------

/** POST /api/v1/watch/:env: a key's version as the agent has it; -1 is "unknown" (always answered). */
export const watchRequest = z.strictObject({
  keys: z.record(z.string(), z.int().check(z.gte(-1))),
  timeoutMs: optional(z.int().check(z.nonnegative())),
})
export type WatchRequest = z.infer<typeof watchRequest>

/** meta null: the key does not exist */
export const watchAnswer = z.object({changed: z.array(z.object({key: z.string(), meta: nullable(versionMeta)}))})
export type WatchAnswer = z.infer<typeof watchAnswer>

export const fileStatus = z.enum(['ok', 'check-failed', 'reload-failed', 'pending', 'error'])
export type FileStatus = z.infer<typeof fileStatus>

/** The diff stat of one applied version: `+2 -1` lines, or the sizes of a binary or large file. */
export const lastChange = z.object({
  version: int(),
  /** text: added/removed count lines; binary: not UTF-8 (or has NUL bytes); large: over 1 MiB or too many changes to compare */
  kind: z.enum(['text', 'binary', 'large']),
  added: nullable(int()),
  removed: nullable(int()),
  /** null: the file did not exist before */
  bytesBefore: nullable(int()),
  bytesAfter: int(),
})
export type LastChange = z.infer<typeof lastChange>

/** What one agent says about one of its files. */
export const fileReport = z.object({
  key: z.string(),
  dest: z.string(),
  /** the version now in place (null: none applied yet) */
  version: nullable(int()),
  sha256: nullable(z.string()),
  status: fileStatus,
  appliedAt: nullable(z.string()),
  /** the last error, null when the last attempt went well */
  error: nullable(z.string()),
  /** the version whose check or reload failed (not retried until a newer one), null when none */
  failedVersion: optional(nullable(int())),
  /** what the last applied change did to the file (since the agent started; absent from older agents) */
  lastChange: optional(nullable(lastChange)),
})
export type FileReport = z.infer<typeof fileReport>

/** The instance report: an ephemeral znode (zk source) or a heartbeat body (http source). */
export const instanceReport = z.object({
  /** the instance name: <host>, <host>@<app> or <host>@<app>.<n> (model.ts) */
  instance: z.string(),
  host: z.string(),
  app: optional(z.string()),
  pid: int(),
  agentVersion: z.string(),
  startedAt: z.string(),
  updatedAt: z.string(),
  files: z.array(fileReport).check(z.maxLength(10_000)),
})
export type InstanceReport = z.infer<typeof instanceReport>

/** A report as it arrives: the route's instance name is the truth; older agents did not send one. */
export const reportBody = z.extend(instanceReport, {instance: optional(z.string())})
export type ReportBody = z.infer<typeof reportBody>

/** PUT /api/v1/instances/:env/:instance: an http-source agent's heartbeat */
export const heartbeatRequest = z.extend(reportBody, {intervalMs: z.int().check(z.positive(), z.lte(3_600_000))})
export type HeartbeatRequest = z.infer<typeof heartbeatRequest>
export const heartbeatAnswer = z.object({ok: z.literal(true)})
export type HeartbeatAnswer = z.infer<typeof heartbeatAnswer>

/** DELETE /api/v1/instances/:env/:instance: a clean stop, with the last report */
export const withdrawRequest = z.object({report: optional(reportBody)})
export type WithdrawRequest = z.infer<typeof withdrawRequest>
export const withdrawAnswer = z.object({removed: z.boolean()})
export type WithdrawAnswer = z.infer<typeof withdrawAnswer>

// ---- the fleet as operators see it (fleet.ts computes these) ------------------------------------

export const instanceState = z.enum(['ok', 'pending', 'failed', 'offline', 'stopped'])
export type InstanceState = z.infer<typeof instanceState>

export const fileView = z.extend(fileReport, {
  centerVersion: nullable(int()),
  /** version and sha256 equal the center's current ones */
  inSync: z.boolean(),
})
export type FileView = z.infer<typeof fileView>

export const instanceView = z.extend(z.omit(instanceReport, {files: true}), {
  online: z.boolean(),
  state: instanceState,
  /** when the instance came online, or went offline / stopped */
  since: z.string(),
  /** the last time serve heard from it */
  lastSeen: z.string(),
  via: z.enum(['zk', 'http']),
  files: z.array(fileView),
})
export type InstanceView = z.infer<typeof instanceView>
export const instancesAnswer = z.object({env: z.string(), instances: z.array(instanceView)})
export type InstancesAnswer = z.infer<typeof instancesAnswer>
export const forgetAnswer = z.object({forgotten: z.string(), env: z.string()})
export type ForgetAnswer = z.infer<typeof forgetAnswer>

export const receiptStatus = z.enum(['ok', 'failed', 'pending', 'offline', 'stopped'])
export type ReceiptStatus = z.infer<typeof receiptStatus>

/** One instance's answer to "did you apply version N of this key?" */
export const receipt = z.object({
  instance: z.string(),
  host: z.string(),
  status: receiptStatus,
  /** the version it has in place */
  version: nullable(int()),
  error: nullable(z.string()),
})
export type Receipt = z.infer<typeof receipt>

/** GET /api/v1/rollout/:env/<key>?version=N: the receipts of one version. */
export const rolloutAnswer = z.object({
  env: z.string(),
  key: z.string(),
  version: int(),
  /** changes whenever a receipt changes; pass it back as `seen` to wait for the next change */
  digest: z.string(),
  receipts: z.array(receipt),
})
export type RolloutAnswer = z.infer<typeof rolloutAnswer>

// ---- the live feed (GET /api/v1/events) ----------------------------------------------------------

/** The first event of every stream: what the header of a dashboard shows. */
export const helloEvent = z.object({
  env: z.string(),
  mode: z.enum(['embedded', 'zookeeper']),
  zookeeper: nullable(z.enum(['connected', 'unreachable'])),
  caller: z.object({name: z.string(), role: z.string()}),
  boot: z.string(),
})
export type HelloEvent = z.infer<typeof helloEvent>

export const feedEvent = z.discriminatedUnion('type', [
  z.object({type: z.literal('change'), env: z.string(), key: z.string(), meta: versionMeta}),
  z.object({type: z.literal('audit'), env: optional(z.string()), entry: auditEntry}),
  /** an instance appeared, reported, stopped or went silent: read GET /api/v1/instances/:env again */
  z.object({type: z.literal('instance'), env: z.string(), host: z.string(), online: z.boolean()}),
  /** serve's own connection to ZooKeeper came or went (every env hears it) */
  z.object({type: z.literal('zookeeper'), env: optional(z.undefined()), state: z.enum(['connected', 'unreachable'])}),
])
export type FeedEvent = z.infer<typeof feedEvent>

export const healthAnswer = z.object({ok: z.boolean(), mode: z.enum(['embedded', 'zookeeper']), zookeeper: optional(z.enum(['connected', 'unreachable']))})
export type HealthAnswer = z.infer<typeof healthAnswer>

// ---- what commands print with --json beside serve's answers ------------------------------------

/** `stconf pull --json`: the version pulled (the meta its headers carry) and the file written. */
export const pullResult = z.extend(contentMeta, {env: z.string(), key: z.string(), /** absolute */ path: z.string()})
export type PullResult = z.infer<typeof pullResult>

/** One side of a diff: a version in the center (null: the key does not exist there, diffed as empty), or a local file. */
export const diffSide = z.discriminatedUnion('kind', [
  z.object({kind: z.literal('center'), env: z.string(), key: z.string(), version: nullable(int())}),
  z.object({kind: z.literal('local'), /** absolute */ path: z.string()}),
])
export type DiffSide = z.infer<typeof diffSide>

/** `stconf diff --json`: `from` is the patch's "-" side, `to` its "+" side; patch is "" when equal. */
export const diffResult = z.object({equal: z.boolean(), from: diffSide, to: diffSide, patch: z.string()})
export type DiffResult = z.infer<typeof diffResult>

// ---- checking ------------------------------------------------------------------------------------

export type Checked<T> = {ok: true; value: T} | {ok: false; problem: string}

/** `value` checked against `schema`; on failure the first problem as `path: message`, one line. */
export function check<T>(schema: z.core.$ZodType<T>, value: unknown): Checked<T> {
  const result = z.safeParse(schema, value)
  if (result.success) return {ok: true, value: result.data}
  const issue = result.error.issues[0]
  return {ok: false, problem: `${issue.path.join('.') || '(root)'}: ${issue.message}`}
}
