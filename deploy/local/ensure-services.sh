#!/usr/bin/env bash
# Start the local RabbitMQ and PostgreSQL when they are installed but stopped.
# Used by `make demo`, `make test` and CI; touches nothing that already runs.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 what=$2
  for _ in $(seq 1 60); do port_open "$port" && return 0; sleep 1; done
  echo "ensure-services: $what did not come up on port $port" >&2
  return 1
}

if [[ "${AMQP_URI:-}" == "" || "${AMQP_URI}" == *"127.0.0.1"* || "${AMQP_URI}" == *"localhost"* ]]; then
  if ! port_open 5672; then
    if command -v rabbitmq-server >/dev/null; then
      echo "ensure-services: starting RabbitMQ"
      rabbitmq-server -detached
      wait_port 5672 RabbitMQ
    else
      echo "ensure-services: RabbitMQ is not reachable and not installed here" >&2
      exit 1
    fi
  fi
  # The tests make a throwaway vhost per test through the management API.
  if ! port_open 15672 && command -v rabbitmq-plugins >/dev/null; then
    echo "ensure-services: enabling rabbitmq_management"
    rabbitmq-plugins enable rabbitmq_management >/dev/null
    wait_port 15672 "RabbitMQ management"
  fi
fi

if [[ "${AKKOORD_DATABASE_URL:-}" == "" || "${AKKOORD_DATABASE_URL}" == postgres*"127.0.0.1"* || "${AKKOORD_DATABASE_URL}" == postgres*"localhost"* || "${NEED_POSTGRES:-}" == "1" ]]; then
  if ! port_open 5432 && command -v pg_ctlcluster >/dev/null; then
    echo "ensure-services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    wait_port 5432 PostgreSQL
  fi
fi
