// pm2 process file for the stconf agent:  pm2 start ecosystem.config.cjs && pm2 save
// Config reload without a restart:        pm2 sendSignal SIGHUP stconf-agent
module.exports = {
  apps: [
    {
      name: 'stconf-agent',
      script: 'stconf', // or the absolute path of bin/run.js
      args: 'agent --config /etc/stconf/agent.yml --log-format json',
      interpreter: 'none',
      exec_mode: 'fork', // one agent per server, never cluster mode
      instances: 1,
      autorestart: true,
      restart_delay: 2000,
      // the agent stops cleanly on SIGTERM (in-flight change finished, report withdrawn)
      kill_timeout: 60000,
      merge_logs: true,
      time: false, // log lines carry their own timestamps
    },
  ],
}
