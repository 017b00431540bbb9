"""The `asn-peduli` command line: demo, terminal chat, Telegram bot, database, roster.

Each command reads the settings once, builds the application through `create_app`, and
disposes of it at the end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

import typer

from admin.cli_app import load_settings, with_app, with_migrated_app
from admin.cli_exports import bpjs_cli, export_cli
from admin.cli_output import not_configured, say
from admin.cli_roles import role_cli
from admin.cli_units import unit_cli
from bot.app import App
from bot.logs import log_to_stderr, set_log_level
from bot.settings import NotConfigured, Settings

cli = typer.Typer(help="ASN Peduli: pendaftaran pekerja rentan ke BPJS Ketenagakerjaan.",
                  no_args_is_help=True, add_completion=False)
db_cli = typer.Typer(help="Basis data.", no_args_is_help=True)
roster_cli = typer.Typer(help="Data ASN (roster).", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(roster_cli, name="roster")
cli.add_typer(role_cli, name="role")
cli.add_typer(unit_cli, name="unit")
cli.add_typer(export_cli, name="export")
cli.add_typer(bpjs_cli, name="bpjs")

ENV_FILE = Path(".env")
ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def write_env_file(path: Path = ENV_FILE, force: bool = False) -> bool:
    """Copy .env.example to .env with fresh keys; False when .env exists and is kept."""
    from storage.crypto import generate_key

    if path.exists() and not force:
        return False
    lines = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("DATA_ENCRYPTION_KEYS="):
            line = f"DATA_ENCRYPTION_KEYS={generate_key()}"
        elif line.startswith("NIK_HASH_KEY="):
            line = f"NIK_HASH_KEY={generate_key()}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return True


@cli.command("init-env")
def init_env(force: Annotated[bool, typer.Option(help="Timpa .env yang ada.")] = False) -> None:
    """Buat .env dari .env.example dengan kunci enkripsi baru."""
    say("env_written" if write_env_file(force=force) else "env_kept", path=str(ENV_FILE))


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Terapkan migrasi Alembic sampai versi terbaru."""
    with_app(lambda app: app.migrate())
    say("db_upgraded")


@roster_cli.command("import")
def roster_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Impor data ASN dari CSV (nip, nama, unit, no_hp, kecamatan, jabatan)."""
    from admin.roster_file import import_roster_file

    async def work(app: App) -> int:
        return await import_roster_file(app, file)

    raise typer.Exit(with_migrated_app(work))


@roster_cli.command("kecamatan")
def roster_kecamatan(
    file: Annotated[Path | None, typer.Argument(
        exists=True, dir_okay=False, readable=True,
        help="CSV dengan kolom kode,nama; tanpa berkas: daftar Kabupaten Kendal.")] = None,
) -> None:
    """Isi daftar kecamatan wilayah (dipakai pendaftaran dan impor roster)."""
    from admin.kecamatan import KECAMATAN_CSV, load_kecamatan

    async def work(app: App) -> tuple[int, int]:
        return await load_kecamatan(app, file or KECAMATAN_CSV)

    listed, added = with_migrated_app(work)
    say("kecamatan_loaded", listed=listed, added=added)


@cli.command("demo-data")
def demo_data(
    asn: Annotated[int, typer.Option(help="Jumlah ASN demo.")] = 1_000,
) -> None:
    """Tulis data demo: OPD, kecamatan, dan ASN fiktif Kabupaten Kendal."""
    from admin.demo_data import write_demo_data

    async def work(app: App) -> None:
        await write_demo_data(app, asn_count=asn)

    with_migrated_app(work)


# A second person on the same terminal chat (a coordinator, a camat) is another console user.
UserOption = Annotated[str | None, typer.Option(
    "--user", help="Nomor pengguna konsol (bawaan: CONSOLE_USER_ID, 1); orang lain: 2, 3...")]


@cli.command("chat")
def chat(user: UserOption = None) -> None:
    """Obrolan dengan bot di terminal (kanal konsol)."""
    from admin.terminal import run_terminal_chat

    settings = load_settings()
    quiet_logs()

    async def work(app: App) -> None:
        await run_terminal_chat(app, user_id=user)

    with_migrated_app(work, settings)


@cli.command("demo")
def demo(user: UserOption = None) -> None:
    """Siapkan semuanya (.env, basis data, data demo) lalu mulai obrolan di terminal."""
    from admin.demo_data import ensure_demo_data
    from admin.terminal import run_terminal_chat

    if write_env_file():
        say("env_written", path=str(ENV_FILE))
    settings = load_settings()
    quiet_logs()

    async def work(app: App) -> None:
        await ensure_demo_data(app)
        await run_terminal_chat(app, demo=True, user_id=user)

    with_migrated_app(work, settings)


@cli.command("run")
def run(
    webhook: Annotated[bool, typer.Option(help="Mode webhook (untuk server web).")] = False,
) -> None:
    """Jalankan bot Telegram (long polling, atau webhook)."""
    from bot.service import run_polling
    from bot.telegram.channel import set_telegram_webhook

    settings = load_settings()
    if settings.telegram_bot_token is None:
        say("telegram_token_missing")
        raise typer.Exit(2)
    if webhook and not (settings.telegram_webhook_url
                        and settings.telegram_webhook_secret is not None):
        say("telegram_webhook_missing")
        raise typer.Exit(2)
    if webhook:  # points Telegram at the web server (`serve`), then ends
        serving("run", set_telegram_webhook, settings)
    else:
        serving("run", lambda app: run_polling(app, schedule=True), settings)


@cli.command("serve")
def serve() -> None:
    """Jalankan server web: webhook Telegram dan WhatsApp, serta pemeriksaan kesehatan."""
    from bot.web import run_server

    serving("serve", lambda app: run_server(app, schedule=True))


@cli.command("worker")
def worker() -> None:
    """Jalankan pengirim pesan dan penjadwal saja (boleh beberapa proses di PostgreSQL)."""
    from bot.service import run_worker

    serving("worker", lambda app: run_worker(app, schedule=True))


def serving(command: str, start: Callable[[App], Awaitable[None]],
            settings: Settings | None = None) -> None:
    """Run a serving command: the database brought up to date and the keys checked first,
    like every command, then `start` until it ends (bot/service.py; every serving process
    runs the scheduler beside the sender). Settings it finds missing or malformed are
    named, exit code 2."""
    try:
        with_migrated_app(start, settings)
    except NotConfigured as problem:
        raise not_configured(problem, command) from None


def quiet_logs() -> None:
    """The terminal chat shares the screen with the log: only warnings and errors show,
    whatever LOG_LEVEL says (called after the settings, which set it, are read)."""
    set_log_level("WARNING")


def main() -> None:
    """`asn-peduli`: records go to standard error; each command sets the level from the
    settings it reads (admin/cli_app.py load_settings)."""
    log_to_stderr()
    cli()
