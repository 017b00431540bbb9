"""`asn-peduli export` and `asn-peduli bpjs`: the monthly report, the payroll-deduction list,
the BPJS registration batch, and the import of BPJS results."""

from __future__ import annotations

import typer

export_cli = typer.Typer(help="Ekspor laporan dan daftar.", no_args_is_help=True)
bpjs_cli = typer.Typer(help="Pertukaran data dengan BPJS Ketenagakerjaan.", no_args_is_help=True)
