"""Shared fixtures (anyio on asyncio for every async test; each test its own per-user data location) and the
table of slow tests.

``slow`` (registered in pyproject.toml) marks what the README's quick test command leaves out: tests
that need a system part (nginx, Chromium, Node and its npm tools, the conformance suite) and tests that
took 3 s or more in a measured run of the whole suite on the busy 2-core development machine
(docs/development.md has the figures). A test can carry ``@pytest.mark.slow`` itself; the table below
marks the ones measured, from one place, so that the modules themselves stay as their authors wrote them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from tests.support import stop_per_user_emulators

TESTS: Final = Path(__file__).resolve().parent

#: Whole modules that need a system part: the browser, nginx, Node tools, the conformance suite, npx.
SLOW_MODULES: Final = (
    "e2e/test_app_browser.py",  # Chromium
    "e2e/test_behind_nginx.py",  # nginx
    "e2e/test_oauth.py",  # Node: oidc-provider
    "conformance/test_conformance.py",  # Node: the MCP conformance suite
    "e2e/test_packaging.py",  # builds the wheel and sdist; npx runs mcpb
)

#: Single tests that need a system part or took 3 s or more (the largest parametrization, measured with
#: ``--durations=0`` on the shared 2-core machine at a load average of 6 to 8; docs/development.md has the
#: figures). 3 s there is about 1.5 s on a quiet machine: the quick set must finish in minutes even when
#: the machine is busy.
SLOW_TESTS: Final = (
    "e2e/test_app_protocol.py::test_the_view_metadata_follows_the_apps_schema",  # Node: the Apps schemas
    "e2e/test_agent_runs.py::test_a_cancelled_call_cancels_the_run_in_mix_once",  # 3.4 s
    "e2e/test_agent_runs.py::test_a_dropped_stream_resumes_from_last_event_id_without_loss_or_repeat",  # 3.4 s
    "e2e/test_agent_runs.py::test_read_only_servers_publish_no_run_tools_and_bad_arguments_send_nothing",  # 3.2 s
    "e2e/test_benchmark_smoke.py::test_benchmark_runs_with_tiny_counts",  # 12.1 s
    "e2e/test_doc_commands.py::test_runnable_block",  # 5.9 s
    "e2e/test_http_guarantees.py::test_sessions_beyond_the_cap_get_a_503_that_says_why_and_idle_ones_expire",  # 3.3 s
    "e2e/test_lifecycle.py::test_a_call_outlasting_the_grace_period_is_stopped_with_a_clear_result",  # 3.2 s
    "e2e/test_model_view.py::test_default_export_of_2000_messages_fits_and_next_arguments_read_the_rest",  # 14.1 s
    "e2e/test_model_view.py::test_each_tool_accepts_the_argument_set_a_strict_mode_client_sends",  # 3.3 s
    "e2e/test_model_view.py::test_every_result_kind_is_complete_in_each_form",  # 5.1 s
    "e2e/test_observability.py::test_json_logs_carry_the_tool_call_fields",  # 4.1 s
    "e2e/test_replicated_confirmation.py::test_a_confirmed_delete_works_across_alternating_replicas",  # 4.0 s
    "e2e/test_replicated_confirmation.py::test_replicas_with_different_keys_refuse_the_answer",  # 5.6 s
    # 5.3 s
    "e2e/test_replicated_confirmation.py::test_rotation_replicas_in_neighbouring_phases_read_each_others_state",
    "e2e/test_replicated_confirmation.py::test_uvicorn_workers_share_the_key_from_a_file",  # 5.1 s
    "e2e/test_resources_and_controls.py::test_anything_but_a_yes_refuses_and_changes_nothing",  # 4.3 s
    "e2e/test_resources_and_controls.py::test_confirmed_delete_and_rewind_run",  # 3.9 s
    "e2e/test_resources_and_controls.py::test_tools_and_exclude_tools_from_flags_and_environment",  # 4.4 s
    "e2e/test_resources_and_controls.py::test_unknown_or_conflicting_tool_names_stop_the_server_at_start",  # 3.3 s
    "e2e/test_stdio_transport.py::test_files_on_stdin_and_stdout_are_served_too",  # 5.3 s
    "e2e/test_stdio_workflow.py::test_documented_errors_read_like_advice",  # 6.1 s
    "e2e/test_stdio_workflow.py::test_embedded_emulator_plays_the_version_asked_for",  # 6.5 s
    "e2e/test_stdio_workflow.py::test_embedded_emulator_serves_without_a_mix_server",  # 3.5 s
    "e2e/test_stdio_workflow.py::test_full_workflow",  # 7.2 s
    "e2e/test_stdio_workflow.py::test_full_workflow_on_the_feb_2026_mix",  # 7.9 s
    "e2e/test_stdio_workflow.py::test_mix_down_is_an_actionable_error",  # 4.4 s
    "e2e/test_stdio_workflow.py::test_tools_are_listed_with_schemas_and_annotations",  # 4.2 s
    "e2e/test_stdio_workflow.py::test_unauthorized_mix_names_the_key_setting",  # 9.5 s
    "e2e/test_transcripts.py::test_each_shaping_option_on_a_2000_message_session",  # 6.1 s
    "e2e/test_transcripts.py::test_following_next_arguments_reads_every_message_exactly_once",  # 7.9 s
    "e2e/test_transcripts.py::test_markdown_indexes_and_ids_drive_fork_and_rewind",  # 4.3 s
    "emulator/test_emulator_limits.py::test_a_list_made_huge_by_one_session_names_the_size_and_the_way_out",  # 5.6 s
    "faults/test_event_stream.py::test_reconnects_that_bring_nothing_give_up_with_the_resume_point",  # 3.3 s
    "faults/test_fuzz.py::test_fuzz_arguments_from_the_tool_schema",  # 27.4 s
    "faults/test_fuzz.py::test_hand_written_hostile_strings",  # 3.2 s
    "faults/test_keepalive.py::test_creates_survive_a_mix_that_drops_idle_connections",  # 13.9 s
    "faults/test_request_bodies.py::test_no_request_carries_an_unset_field",  # 6.6 s
    "faults/test_secrets.py::test_no_trace_of_a_secret_in_results_errors_or_debug_logs",  # 6.5 s
    "faults/test_stdio.py::test_a_cancelled_call_aborts_its_request_and_the_next_call_succeeds",  # 4.2 s
    "faults/test_stdio.py::test_a_retried_fault_end_to_end_logs_the_retry_and_the_call",  # 4.2 s
    "faults/test_stdio.py::test_stdout_carries_only_json_rpc_even_at_debug",  # 4.6 s
    "faults/test_stdio_guarantees.py::test_a_client_that_closed_stdout_gets_a_quiet_exit",  # 4.7 s
    "faults/test_stdio_guarantees.py::test_a_line_over_the_limit_is_refused_and_serving_goes_on",  # 6.8 s
    "faults/test_stdio_guarantees.py::test_a_second_signal_stops_at_once",  # 5.4 s
    "faults/test_stdio_guarantees.py::test_a_stop_signal_drains_the_call_flushes_spans_and_exits_0",  # 7.4 s
    "faults/test_stdio_guarantees.py::test_calls_in_flight_at_end_of_input_are_answered_before_exit",  # 5.7 s
    "faults/test_stdio_guarantees.py::test_ctrl_c_in_a_terminal_stops_serve_promptly",  # 4.6 s
    "faults/test_stdio_guarantees.py::test_every_malformed_request_is_answered_and_serving_goes_on",  # 4.9 s
    "unit/test_cli.py::test_the_stdio_path_does_not_load_the_network_modules",  # 6.5 s
    "unit/test_transcripts.py::test_any_window_sequence_returns_each_kept_message_once_within_budget",  # 24.6 s
    "unit/test_wire_trace.py::test_a_written_head_or_no_report_proves_nothing",  # 5.8 s
    # Measured again after the run-follower, files, tasks, console and OAuth merges (all parametrizations
    # summed, quick set at a load average of about 3): the quick set keeps a fast test of each behaviour.
    "faults/test_hostile_runs.py::test_next_arguments_are_always_accepted_by_follow_run",  # 7.5 s
    "faults/test_hostile_runs.py::test_a_stream_broken_after_sending_says_it_was_sent_and_how_to_look",  # 9 s
    "faults/test_hostile_runs.py::test_a_stream_that_never_confirms_says_the_message_was_not_sent",  # 6.3 s
    "faults/test_hostile_stream.py::test_heartbeats_do_not_reset_the_reopening_budget",  # 3.2 s
    "faults/test_hostile_issuer_http.py::test_a_100_mb_jwks_is_refused_unread_and_costs_no_memory",  # 5.9 s
    "e2e/test_model_view.py::test_null_for_every_optional_argument_means_left_out",  # 13.1 s
    "e2e/test_agent_runs.py::test_a_run_longer_than_the_wait_returns_unfinished_and_follow_run_resumes",  # 6.3 s
    "e2e/test_agent_runs.py::test_by_default_a_call_returns_before_a_five_second_client_cuts_it",  # 10.8 s
    "e2e/test_agent_runs.py::test_a_run_command_asks_the_user_and_does_what_they_said",  # 16 s
    "e2e/test_doctor.py::test_mix_requiring_a_key_fails_until_the_right_key_is_set",  # 3.9 s
    "e2e/test_cli_forgives.py::test_read_only_on_doctor_is_reported",  # 3.4 s
    "e2e/test_tasks.py::test_the_task_result_is_what_the_plain_call_returns",  # 3.3 s
    "e2e/test_tasks.py::test_a_run_with_a_permission_is_driven_as_a_task_to_its_result",  # 4.5 s
    "e2e/test_mix_versions.py::test_a_base_url_pointing_at_mix_mcp_itself_is_named_as_the_problem",  # 6 s
    "e2e/test_mix_versions.py::test_a_missing_operation_leaves_the_tool_list_over_the_network",  # 10 s
    "e2e/test_http_guarantees.py::test_a_slow_body_times_out_with_408",  # 2.6 s
    "e2e/test_doc_commands.py::test_the_logs_example_is_what_the_commands_print",  # 2.5 s
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def mix_mcp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where `--emulator` keeps its per-user emulator during this test: never the real home directory.

    Set through XDG_DATA_HOME, which subprocesses inherit (``clean_env`` drops only MIX_* variables),
    so every ``mix-mcp ... --emulator`` a test starts shares this test's emulator and no other's. Every
    emulator recorded under the test's tmp_path is stopped afterwards by its recorded pid, including one
    started by a process given only HOME=tmp_path (an MCP client's default environment has no XDG_*).
    """
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.delenv("MIX_MCP_HOME", raising=False)
    yield data / "mix-mcp"
    stop_per_user_emulators(tmp_path)


def _where(item: pytest.Item) -> tuple[str, str]:
    """The item's module relative to tests/ and its test function's name (without parameters)."""
    module = Path(str(item.path)).resolve().relative_to(TESTS).as_posix()
    return module, item.name.split("[", 1)[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tables' tests slow before ``-m`` selects; a table entry that names no test is an error."""
    seen_modules: set[str] = set()
    matched: set[str] = set()
    for item in items:
        module, name = _where(item)
        seen_modules.add(module)
        entry = f"{module}::{name}"
        if module in SLOW_MODULES or entry in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
            matched.add(entry if entry in SLOW_TESTS else module)
    stale = [
        entry
        for entry in (*SLOW_MODULES, *SLOW_TESTS)
        if entry.split("::", 1)[0] in seen_modules and entry not in matched and "::" in entry
    ]
    # Only a run that collected whole modules can tell: a node id or -k picks some of a module's tests.
    whole = not any("::" in arg for arg in config.args) and not config.getoption("keyword")
    if stale and whole and not config.getoption("deselect"):
        raise pytest.UsageError(f"tests/conftest.py marks tests that no longer exist: {', '.join(stale)}")
