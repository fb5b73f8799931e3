// Preloaded with --require: on exit, writes every CommonJS module the process loaded to
// $STCONF_RECORD_MODULES (React, fastify and node-zookeeper-client are CommonJS, so they show here).
const {writeFileSync} = require('node:fs')
process.on('exit', () => writeFileSync(process.env.STCONF_RECORD_MODULES, Object.keys(require.cache).join('\n')))
