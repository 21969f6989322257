# Developer shortcuts; each target is a thin wrapper over bin/ or a single tool call.
.DEFAULT_GOAL := help
COMPOSE ?= docker-compose -f compose.yaml
VENV := .venv/bin
comma := ,
# Queues the worker target consumes besides default (as in .env.example); empty for none.
RIPCORD_WORKER_QUEUES ?= database

.PHONY: help demo test lint fmt migrate worker control up down

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

demo: ## Run the embedded demo on 127.0.0.1:8000 (SQLite, in-process worker)
	bin/demo

test: ## Lint, type-check and run every test, as CI does
	bin/test

lint: ## ruff check, ruff format --check, mypy
	bin/setup --dev
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy .

fmt: ## Fix what ruff can fix and format the code
	$(VENV)/ruff check --fix .
	$(VENV)/ruff format .

migrate: ## Apply database migrations (DATABASE_URL, or embedded SQLite)
	bin/setup
	$(VENV)/python manage.py migrate

worker: ## Run a Celery worker on queue default plus RIPCORD_WORKER_QUEUES (needs REDIS_URL)
	bin/setup
	$(VENV)/celery -A config worker --loglevel=INFO --prefetch-multiplier=1 --queues=default$(if $(RIPCORD_WORKER_QUEUES),$(comma)$(RIPCORD_WORKER_QUEUES))

control: ## Run beat inside the housekeeping worker (queue control), as compose's beat service
	bin/setup
	mkdir -p var
	$(VENV)/celery -A config worker --beat --schedule=var/celerybeat-schedule --queues=control --concurrency=1 --loglevel=INFO

up: ## Build and start the production stack from compose.yaml (reads .env)
	$(COMPOSE) up -d --build

down: ## Stop the compose stack (volumes are kept)
	$(COMPOSE) down
