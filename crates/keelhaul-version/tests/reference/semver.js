// Reference for Scheme::Semver: node-semver's semver.compare(a, b) (strict, not loose).
// The directory holding node_modules/semver comes from NODE_PATH (npm install semver).
'use strict'
const semver = require('semver')
const lines = require('fs').readFileSync(0, 'utf8').split('\n')
const out = []
for (const line of lines) {
  if (line === '') continue
  const [a, b] = line.split('\t')
  try {
    out.push(String(semver.compare(a, b)))
  } catch (e) {
    out.push('E')
  }
}
process.stdout.write(out.join('\n') + '\n')
