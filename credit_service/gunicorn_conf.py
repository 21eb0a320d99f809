"""gunicorn, the alternative to the default server (docs/operations.md):

    gunicorn -c python:credit_service.gunicorn_conf 'credit_service:create_app()'

Same logs (one JSON format, identity numbers masked), metrics across workers and worker timeout as
`credit-service serve`. gunicorn's own access log stays off: it would write the raw path. Its sync
workers give each connection a worker, so put a buffering proxy (nginx) in front of it; without
one, a few slow clients stop the service. Override any setting on the command line (-w, -b, …).
"""
from credit_service.logging_setup import server_log_config
from credit_service.serving import prepare_server_process

prepare_server_process()

workers = 2
bind = "127.0.0.1:8000"
timeout = 30
graceful_timeout = 30
accesslog = None
logconfig_dict = server_log_config()
# gunicorn ≥ 25 opens a control socket (gunicorn.ctl in the working directory) unless told not to; older
# versions ignore the name here (a configuration file's unknown settings are skipped, unlike the
# --no-control-socket flag, which they reject).
control_socket_disable = True
