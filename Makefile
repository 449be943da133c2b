# Refinery — the two commands: `make run` (serve the UI with demo data) and `make test`.
.PHONY: run test setup labelstudio check bench clean-data

run:            ## set up, migrate, load demo data, start worker + web server on 127.0.0.1:8000
	bash scripts/run.sh

test:           ## set up what the tests need and run the whole suite
	bash scripts/test.sh $(ARGS)

setup:          ## only install / prepare (app venv, assets)
	bash scripts/setup.sh app

labelstudio:    ## install Label Studio 1.23.2 in its own venv and run it on 127.0.0.1:8080
	bash scripts/labelstudio.sh install && bash scripts/labelstudio.sh start

check:          ## Django checks, production deploy checks, migrations in sync
	.venv/bin/python manage.py check
	.venv/bin/python manage.py makemigrations --check --dry-run
	SECRET_KEY=$$(.venv/bin/python -c 'import secrets;print(secrets.token_urlsafe(60))') ALLOWED_HOSTS=refinery.example.com \
	  DJANGO_SETTINGS_MODULE=refinery.settings_production .venv/bin/python manage.py check --deploy --fail-level WARNING

bench:          ## run the benchmarks in bench/ (prints ratios against the peers)
	fail=""; for b in bench/*.py; do echo "== $$b"; .venv/bin/python $$b || fail="$$fail $$b"; done; if [ -n "$$fail" ]; then echo "bars missed:$$fail"; exit 1; fi
