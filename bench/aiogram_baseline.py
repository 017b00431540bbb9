"""The baseline for the dispatch benchmark: the same enrolment on aiogram 3, in memory.

The same Telegram update JSON goes through aiogram's Dispatcher.feed_raw_update with its
MemoryStorage: pydantic parses the update, routers and state filters pick the handler, the
handler keeps the answer in the FSM data and moves to the next state. Nothing is validated,
rendered, encrypted, written to a database or replied: this is the floor a framework costs,
against which ASN Peduli's full work per update is compared.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import CallbackQuery, Message

TOKEN = "123456:BENCH"


class Enrolment(StatesGroup):
    nip = State()
    contact = State()
    menu = State()
    relationship = State()
    nik = State()
    name = State()
    birth = State()
    occupation = State()
    phone = State()
    kecamatan = State()
    desa = State()
    consent = State()
    summary = State()
    deduction = State()
    done = State()


# The states in conversation order after the contact; each takes one answer.
_STEPS = [Enrolment.menu, Enrolment.relationship, Enrolment.nik, Enrolment.name,
          Enrolment.birth, Enrolment.occupation, Enrolment.phone, Enrolment.kecamatan,
          Enrolment.desa, Enrolment.consent, Enrolment.summary, Enrolment.deduction,
          Enrolment.done]


def _keep_and_move(step: State, following: State
                   ) -> Callable[[Message | CallbackQuery, FSMContext], Awaitable[None]]:
    """aiogram passes the FSM context by parameter name: it must be called `state`."""
    name = (step.state or "").split(":")[-1]

    async def handler(event: Message | CallbackQuery, state: FSMContext) -> None:
        answer = event.data if isinstance(event, CallbackQuery) else event.text
        await state.update_data({name: answer})
        await state.set_state(following)

    return handler


def build_router() -> Router:
    router = Router()

    @router.message(Command("mulai"))
    async def start(_message: Message, state: FSMContext) -> None:
        await state.set_state(Enrolment.nip)

    @router.message(Enrolment.nip)
    async def nip(message: Message, state: FSMContext) -> None:
        await state.update_data(nip=message.text)
        await state.set_state(Enrolment.contact)

    @router.message(Enrolment.contact, F.contact)
    async def contact(message: Message, state: FSMContext) -> None:
        assert message.contact is not None
        await state.update_data(phone=message.contact.phone_number)
        await state.set_state(Enrolment.menu)

    for step, following in itertools.pairwise(_STEPS):
        router.message(step)(_keep_and_move(step, following))
        router.callback_query(step)(_keep_and_move(step, following))
    return router


async def measure(scripts: Sequence[Sequence[dict[str, Any]]], concurrency: int,
                  warm_up: Sequence[Sequence[dict[str, Any]]] = ()) -> dict[str, float]:
    """Updates per second and latency of aiogram over these conversations' updates; every
    conversation must end in the last state, or the baseline measured something else."""
    dispatcher = Dispatcher(storage=MemoryStorage())
    dispatcher.include_router(build_router())
    bot = Bot(TOKEN)
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def converse(script: Sequence[dict[str, Any]]) -> None:
        async with gate:
            for update in script:
                started = time.perf_counter()
                await dispatcher.feed_raw_update(bot, update)
                latencies.append(time.perf_counter() - started)

    for script in warm_up:  # untimed, as for ASN Peduli: first use builds models' caches
        for update in script:
            await dispatcher.feed_raw_update(bot, update)
    started = time.perf_counter()
    await asyncio.gather(*(converse(script) for script in scripts))
    elapsed = time.perf_counter() - started
    finished = 0
    for script in scripts:
        user = script[0]["message"]["from"]["id"]
        key = StorageKey(bot_id=bot.id, chat_id=user, user_id=user)
        finished += await dispatcher.storage.get_state(key) == Enrolment.done.state
    await bot.session.close()
    if finished != len(scripts):
        raise SystemExit(f"aiogram baseline: {finished} of {len(scripts)} conversations "
                         "reached the end")
    ordered = sorted(latencies)
    return {"rate": len(latencies) / elapsed, "p50": statistics.median(ordered) * 1000,
            "p99": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000}
