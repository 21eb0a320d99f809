"""`credit-service serve` sets PROMETHEUS_MULTIPROC_DIR before its workers start; prometheus_client
chooses per-process or shared counters once, when it is imported. Importing the CLI must therefore not
import it (a merge once made the package import the container, and /metrics lost every worker's counters)."""
import subprocess
import sys


def test_the_command_line_does_not_import_prometheus_client_before_serve_prepares_it():
    code = "import sys, credit_service.cli; print('prometheus_client' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
