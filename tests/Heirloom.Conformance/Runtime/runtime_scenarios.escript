#!/usr/bin/env escript
%% Heirloom's runtime scenarios on real Erlang/OTP: processes, gen_server and supervisor. Each scenario runs in its own
%% process and writes one line per observed event; pids and references never appear, reasons are normalised by r/1
%% (an atom as itself, anything else, such as a crash's {Reason, Stack}, as "error"). Output: "scenario Name", then its
%% lines, then "end". The same scenarios in C# are in RuntimeScenarios.cs, under the same names.
-module(runtime_scenarios).
-mode(compile).
-behaviour(gen_server).
-export([main/1, init/1, handle_call/3, handle_cast/2, handle_info/2, handle_continue/2, terminate/2, start_worker/2]).

main(Names) ->
    logger:set_primary_config(level, none),
    All = [element(1, S) || S <- scenarios()],
    lists:foreach(fun run/1, case Names of [] -> All; _ -> [list_to_atom(N) || N <- Names] end).

run(Name) ->
    Collector = self(),
    T = fun(Line) -> Collector ! {line, lists:flatten(Line)}, ok end,
    {Pid, Ref} = spawn_monitor(fun() -> (proplists:get_value(Name, scenarios()))(T) end),
    receive {'DOWN', Ref, process, Pid, _} -> ok end,
    io:format("scenario ~s~n", [Name]),
    flush_lines(),
    io:format("end~n").

flush_lines() ->
    receive {line, L} -> io:format("~s~n", [L]), flush_lines() after 0 -> ok end.

r(R) when is_atom(R) -> atom_to_list(R);
r(_) -> "error".

t(T, Format, Args) -> T(io_lib:format(Format, Args)).

idle() -> receive stop -> ok end.

down(Pid) -> Ref = monitor(process, Pid), receive {'DOWN', Ref, process, Pid, Reason} -> Reason end.

%% Monitors Pid, then does Act, then waits for Pid's exit: its reason.
down_after(Pid, Act) -> Ref = monitor(process, Pid), Act(), receive {'DOWN', Ref, process, Pid, Reason} -> Reason end.

%% Waits for a message matching nothing but what the scenario expects; "none" after 100 ms.
next() -> receive M -> M after 100 -> none end.

%% --- the test server: its behaviour comes from the message it gets ---------------------------------------------------
init({sup, Flags, Children}) -> {ok, {Flags, Children}};
init({T, Mode}) ->
    t(T, "init ~s", [Mode]),
    case Mode of
        ok -> {ok, T};
        trap -> process_flag(trap_exit, true), {ok, T};
        continue -> {ok, T, {continue, from_init}};
        ignore -> ignore;
        stop -> {stop, boom};
        crash -> erlang:error(crashed);
        slow_terminate -> process_flag(trap_exit, true), {ok, {slow, T}}
    end.

handle_call(get, _From, T) -> {reply, got, T};
handle_call(continue, _From, T) -> {reply, replied, T, {continue, from_call}};
handle_call(slow, _From, T) -> receive after 300 -> ok end, {reply, late, T};
handle_call(crash, _From, _T) -> erlang:error(crashed);
handle_call(stop, _From, T) -> {stop, normal, stopping, T};
handle_call(later, From, T) -> self() ! {reply_to, From}, {noreply, T};
handle_call({echo, X}, _From, T) -> {reply, X, T}.

handle_cast({stop, Reason}, T) -> {stop, Reason, T};
handle_cast(crash, _T) -> erlang:error(crashed);
handle_cast({exit, Reason}, _T) -> exit(Reason);
handle_cast({trace, X}, T) -> t(trace_fun(T), "cast ~s", [X]), {noreply, T}.

handle_info({reply_to, From}, T) -> gen_server:reply(From, later_reply), {noreply, T};
handle_info({'EXIT', _, Reason}, T) -> t(trace_fun(T), "info exit ~s", [r(Reason)]), {noreply, T};
handle_info(X, T) -> t(trace_fun(T), "info ~p", [X]), {noreply, T}.

handle_continue(From, T) -> t(trace_fun(T), "continue ~s", [From]), {noreply, T}.

terminate(Reason, {slow, T}) -> t(T, "terminate ~s", [r(Reason)]), receive after 500 -> ok end, t(T, "terminate done", []);
terminate(Reason, T) -> t(T, "terminate ~s", [r(Reason)]).

trace_fun({slow, T}) -> T;
trace_fun(T) -> T.

start_worker(T, Id) -> gen_server:start_link(?MODULE, {named(T, Id), ok}, []).

%% A trace function that prefixes a child's lines with its id, so supervisor scenarios can tell children apart.
named(T, Id) -> fun(Line) -> T([atom_to_list(Id), " ", Line]) end.

worker(T, Id) -> #{id => Id, start => {?MODULE, start_worker, [T, Id]}}.

sup(Flags, Children) ->
    {ok, Sup} = supervisor:start_link(?MODULE, {sup, Flags, Children}),
    Sup.

scenarios() -> [
    %% --- exit signals and trapping ---
    {exit_normal_to_non_trapping_is_ignored, fun(T) ->
        P = spawn(fun idle/0), exit(P, normal), t(T, "alive ~p", [is_process_alive(P)]) end},
    {exit_normal_to_trapping_is_a_message, fun(T) ->
        Self = self(),
        P = spawn(fun() -> process_flag(trap_exit, true), Self ! ready, receive {'EXIT', From, R} -> Self ! {got, From == Self, r(R)} end end),
        receive ready -> ok end, exit(P, normal),
        receive {got, FromTest, R} -> t(T, "exit from test ~p reason ~s", [FromTest, R]) end end},
    {exit_custom_kills_non_trapping, fun(T) ->
        P = spawn(fun idle/0), Ref = monitor(process, P), exit(P, boom),
        receive {'DOWN', Ref, _, _, R} -> t(T, "down ~s", [r(R)]) end end},
    {exit_custom_to_trapping_is_a_message, fun(T) ->
        Self = self(),
        P = spawn(fun() -> process_flag(trap_exit, true), Self ! ready, receive {'EXIT', _, R} -> Self ! {got, r(R)} end end),
        receive ready -> ok end, exit(P, boom), receive {got, R} -> t(T, "message ~s", [R]) end end},
    {exit_kill_kills_a_trapping_process, fun(T) ->
        Self = self(),
        P = spawn(fun() -> process_flag(trap_exit, true), Self ! ready, idle() end),
        receive ready -> ok end, Ref = monitor(process, P), exit(P, kill),
        receive {'DOWN', Ref, _, _, R} -> t(T, "down ~s", [r(R)]) end end},
    {exit_shutdown_kills_non_trapping, fun(T) ->
        P = spawn(fun idle/0), Ref = monitor(process, P), exit(P, shutdown),
        receive {'DOWN', Ref, _, _, R} -> t(T, "down ~s", [r(R)]) end end},
    {a_killed_link_partner_arrives_as_killed, fun(T) ->
        process_flag(trap_exit, true), P = spawn_link(fun idle/0), exit(P, kill),
        receive {'EXIT', P, R} -> t(T, "exit ~s", [r(R)]) end end},
    {a_linked_crash_kills_the_partner, fun(T) ->
        Self = self(),
        P = spawn(fun() -> receive go -> spawn_link(fun() -> receive go -> exit(boom) end end) ! go, idle() end end),
        t(T, "down ~s", [r(down_after(P, fun() -> P ! go end))]), Self ! done end},
    {a_linked_normal_exit_does_not_kill, fun(T) ->
        Self = self(),
        P = spawn(fun() -> Q = spawn_link(fun() -> ok end), Ref = monitor(process, Q), receive {'DOWN', Ref, _, _, _} -> ok end, Self ! {alive, true}, idle() end),
        receive {alive, A} -> t(T, "alive after partner exit ~p", [A]) end, exit(P, kill) end},
    {a_trapping_process_gets_a_linked_normal_exit, fun(T) ->
        process_flag(trap_exit, true), P = spawn_link(fun() -> ok end),
        receive {'EXIT', P, R} -> t(T, "exit ~s", [r(R)]) end end},
    {exit_self_normal_ends_a_non_trapping_process, fun(T) ->
        Self = self(),
        P = spawn(fun() -> receive go -> exit(self(), normal), Self ! after_exit, idle() end end),
        t(T, "down ~s", [r(down_after(P, fun() -> P ! go end))]), t(T, "after ~p", [next()]) end},
    {exit_self_normal_reaches_a_trapping_process_as_a_message, fun(T) ->
        process_flag(trap_exit, true), exit(self(), normal),
        receive {'EXIT', From, R} -> t(T, "exit from self ~p reason ~s", [From == self(), r(R)]) end,
        t(T, "still running", []) end},
    {exit_self_custom_reaches_a_trapping_process_as_a_message, fun(T) ->
        process_flag(trap_exit, true), exit(self(), boom),
        receive {'EXIT', From, R} -> t(T, "exit from self ~p reason ~s", [From == self(), r(R)]) end end},
    {exit_self_kill_kills_even_a_trapping_process, fun(T) ->
        P = spawn(fun() -> process_flag(trap_exit, true), receive go -> exit(self(), kill), idle() end end),
        t(T, "down ~s", [r(down_after(P, fun() -> P ! go end))]) end},
    {unlink_stops_the_signal, fun(T) ->
        Self = self(),
        P = spawn(fun() -> Q = spawn_link(fun() -> receive go -> exit(boom) end end), unlink(Q), Q ! go,
                            Ref = monitor(process, Q), receive {'DOWN', Ref, _, _, R} -> Self ! {q, r(R)} end, idle() end),
        receive {q, R} -> t(T, "partner ~s, alive ~p", [R, is_process_alive(P)]) end, exit(P, kill) end},
    {trapping_can_be_turned_off, fun(T) ->
        Self = self(),
        P = spawn(fun() -> process_flag(trap_exit, true), process_flag(trap_exit, false), Self ! ready, idle() end),
        receive ready -> ok end, t(T, "down ~s", [r(down_after(P, fun() -> exit(P, boom) end))]) end},

    %% --- links to dead processes ---
    {link_to_a_dead_process_raises_noproc, fun(T) ->
        D = spawn(fun() -> ok end), down(D),
        R = try link(D), linked catch error:E -> E end,
        t(T, "link ~p", [R]), t(T, "still running", []) end},
    {link_to_a_dead_process_when_trapping_is_an_exit_message, fun(T) ->
        D = spawn(fun() -> ok end), down(D), process_flag(trap_exit, true), link(D),
        receive {'EXIT', D, R} -> t(T, "exit ~s", [r(R)]) end end},
    {link_to_self_does_nothing, fun(T) ->
        link(self()), process_flag(trap_exit, true), t(T, "next ~p", [next()]) end},

    %% --- monitors ---
    {monitor_down_normal, fun(T) -> P = spawn(fun idle/0), t(T, "down ~s", [r(down_after(P, fun() -> P ! stop end))]) end},
    {monitor_down_custom, fun(T) ->
        P = spawn(fun() -> receive go -> exit(boom) end end), t(T, "down ~s", [r(down_after(P, fun() -> P ! go end))]) end},
    {monitor_a_dead_pid_gives_noproc, fun(T) -> P = spawn(fun() -> ok end), down(P), t(T, "down ~s", [r(down(P))]) end},
    {two_monitors_give_two_downs, fun(T) ->
        P = spawn(fun idle/0), R1 = monitor(process, P), R2 = monitor(process, P), P ! stop,
        receive {'DOWN', R1, _, _, A} -> t(T, "first ~s", [r(A)]) end,
        receive {'DOWN', R2, _, _, B} -> t(T, "second ~s", [r(B)]) end end},
    {demonitor_before_exit_gives_no_down, fun(T) ->
        P = spawn(fun idle/0), Ref = monitor(process, P), t(T, "demonitor ~p", [demonitor(Ref)]), P ! stop,
        t(T, "next ~p", [next()]) end},
    {demonitor_without_flush_keeps_a_queued_down, fun(T) ->
        P = spawn(fun() -> ok end), R1 = monitor(process, P), R2 = monitor(process, P),
        receive {'DOWN', R2, _, _, _} -> ok end, demonitor(R1),
        receive {'DOWN', R1, _, _, R} -> t(T, "down ~s", [r(R)]) after 100 -> t(T, "no down", []) end end},
    {demonitor_with_flush_drops_a_queued_down, fun(T) ->
        P = spawn(fun() -> ok end), R1 = monitor(process, P), R2 = monitor(process, P),
        receive {'DOWN', R2, _, _, _} -> ok end, demonitor(R1, [flush]),
        receive {'DOWN', R1, _, _, R} -> t(T, "down ~s", [r(R)]) after 100 -> t(T, "no down", []) end end},
    {monitor_by_name_carries_the_name, fun(T) ->
        P = spawn(fun() -> receive go -> exit(boom) end end), register(watched, P),
        Ref = monitor(process, watched), P ! go,
        receive {'DOWN', Ref, process, {Name, _}, R} -> t(T, "down ~s ~s", [Name, r(R)]) end end},
    {monitor_by_an_unregistered_name_gives_noproc, fun(T) ->
        Ref = monitor(process, nobody),
        receive {'DOWN', Ref, process, {Name, _}, R} -> t(T, "down ~s ~s", [Name, r(R)]) end end},
    {monitor_by_name_looks_the_name_up_once, fun(T) ->
        P = spawn(fun() -> receive go -> ok end end), register(watched, P),
        Ref = monitor(process, watched), unregister(watched), P ! go,
        receive {'DOWN', Ref, process, {Name, _}, R} -> t(T, "down ~s ~s", [Name, r(R)]) end end},
    {a_monitored_crash_does_not_harm_the_watcher, fun(T) ->
        P = spawn(fun() -> exit(boom) end), down(P), t(T, "alive ~p", [is_process_alive(self())]) end},
    {spawn_monitor_gives_a_down, fun(T) ->
        {P, Ref} = spawn_monitor(fun() -> exit(boom) end),
        receive {'DOWN', Ref, process, P, R} -> t(T, "down ~s", [r(R)]) end end},

    %% --- names ---
    {register_and_whereis, fun(T) ->
        P = spawn(fun idle/0), register(someone, P), t(T, "whereis ~p", [whereis(someone) == P]), P ! stop end},
    {register_a_taken_name_fails, fun(T) ->
        P = spawn(fun idle/0), Q = spawn(fun idle/0), register(someone, P),
        R = try register(someone, Q) catch error:E -> E end, t(T, "second ~p", [R]), P ! stop, Q ! stop end},
    {register_a_second_name_fails, fun(T) ->
        P = spawn(fun idle/0), register(first, P),
        R = try register(second, P) catch error:E -> E end, t(T, "second ~p", [R]), P ! stop end},
    {a_name_is_freed_at_exit, fun(T) ->
        P = spawn(fun() -> receive go -> ok end end), register(brief, P), P ! go, down(P),
        t(T, "whereis ~p", [whereis(brief)]) end},
    {send_to_a_name, fun(T) ->
        Self = self(), P = spawn(fun() -> receive X -> Self ! {echo, X} end end), register(echo, P), echo ! hello,
        receive {echo, X} -> t(T, "echo ~p", [X]) end end},
    {send_to_an_unregistered_name_fails, fun(T) ->
        R = try nobody ! hello, sent catch error:E -> E end, t(T, "send ~p", [R]) end},
    {unregister_frees_the_name, fun(T) ->
        P = spawn(fun idle/0), register(someone, P), unregister(someone),
        t(T, "whereis ~p alive ~p", [whereis(someone), is_process_alive(P)]), P ! stop end},

    %% --- message order, selective receive, timeouts ---
    {messages_from_one_sender_keep_their_order, fun(T) ->
        [self() ! N || N <- [1, 2, 3, 4, 5]],
        t(T, "got ~w", [[receive N -> N end || _ <- [1, 2, 3, 4, 5]]]) end},
    {selective_receive_takes_the_first_match_and_keeps_the_rest_in_order, fun(T) ->
        [self() ! X || X <- [a, b, c, b]],
        B = receive b -> b end, t(T, "first ~p", [B]),
        t(T, "rest ~w", [[receive X -> X end || _ <- [1, 2, 3]]]) end},
    {receive_timeout_zero_on_an_empty_mailbox, fun(T) ->
        R = receive X -> X after 0 -> timeout end, t(T, "receive ~p", [R]) end},
    {receive_timeout_zero_takes_a_queued_message, fun(T) ->
        self() ! here, R = receive X -> X after 0 -> timeout end, t(T, "receive ~p", [R]) end},
    {receive_timeout_fires, fun(T) -> R = receive X -> X after 30 -> timeout end, t(T, "receive ~p", [R]) end},
    {a_selective_timeout_leaves_other_messages, fun(T) ->
        self() ! other, R = receive wanted -> wanted after 30 -> timeout end,
        t(T, "receive ~p then ~p", [R, receive X -> X after 0 -> none end]) end},
    {messages_from_two_senders_each_keep_their_order, fun(T) ->
        Self = self(),
        A = spawn(fun() -> receive go -> [Self ! {a, N} || N <- [1, 2, 3]] end end),
        B = spawn(fun() -> receive go -> [Self ! {b, N} || N <- [1, 2, 3]] end end),
        A ! go, B ! go,
        As = [receive {a, N} -> N end || _ <- [1, 2, 3]], Bs = [receive {b, N} -> N end || _ <- [1, 2, 3]],
        t(T, "a ~w b ~w", [As, Bs]) end},

    %% --- gen_server ---
    {gen_server_call_replies, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []), t(T, "call ~p", [gen_server:call(S, get)]) end},
    {gen_server_cast_then_call_in_order, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []), gen_server:cast(S, {trace, "one"}),
        t(T, "call ~p", [gen_server:call(S, get)]) end},
    {gen_server_info, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []), S ! hello, gen_server:call(S, get) end},
    {gen_server_continue_from_init_runs_before_the_first_message, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, continue}, []), t(T, "call ~p", [gen_server:call(S, get)]) end},
    {gen_server_continue_from_call, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []), t(T, "call ~p", [gen_server:call(S, continue)]),
        gen_server:call(S, get) end},
    {gen_server_call_timeout, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []),
        R = try gen_server:call(S, slow, 50) catch exit:{Reason, _} -> {exit, Reason} end, t(T, "call ~p", [R]) end},
    {gen_server_call_to_a_dead_server, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []), gen_server:stop(S),
        R = try gen_server:call(S, get) catch exit:{Reason, _} -> {exit, Reason} end, t(T, "call ~p", [R]) end},
    {gen_server_call_to_a_server_that_crashes, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []),
        R = try gen_server:call(S, crash) catch exit:{Reason, _} -> {exit, r(Reason)} end, t(T, "call ~p", [R]) end},
    {gen_server_stop_with_a_reply, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []), Ref = monitor(process, S),
        t(T, "call ~p", [gen_server:call(S, stop)]),
        receive {'DOWN', Ref, _, _, R} -> t(T, "down ~s", [r(R)]) end end},
    {gen_server_stop_from_a_cast_with_a_reason, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []), t(T, "down ~s", [r(down_after(S, fun() -> gen_server:cast(S, {stop, boom}) end))]) end},
    {gen_server_crash_in_a_callback_runs_terminate, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []), t(T, "down ~s", [r(down_after(S, fun() -> gen_server:cast(S, crash) end))]) end},
    {gen_server_exit_in_a_callback_runs_terminate, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []), t(T, "down ~s", [r(down_after(S, fun() -> gen_server:cast(S, {exit, boom}) end))]) end},
    {gen_server_init_ignore, fun(T) -> t(T, "start ~p", [gen_server:start(?MODULE, {T, ignore}, [])]) end},
    {gen_server_init_stop, fun(T) -> t(T, "start ~p", [gen_server:start(?MODULE, {T, stop}, [])]) end},
    {gen_server_init_crash, fun(T) ->
        R = case gen_server:start(?MODULE, {T, crash}, []) of {error, E} -> {error, r(E)}; X -> X end, t(T, "start ~p", [R]) end},
    {gen_server_stop_runs_terminate, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []), t(T, "stop ~p", [gen_server:stop(S)]) end},
    {gen_server_parent_exit_runs_terminate_when_trapping, fun(T) ->
        Self = self(),
        Parent = spawn(fun() -> {ok, S} = gen_server:start_link(?MODULE, {T, trap}, []), Self ! {server, S}, idle() end),
        receive {server, S} -> ok end, t(T, "down ~s", [r(down_after(S, fun() -> exit(Parent, shutdown) end))]) end},
    {gen_server_parent_exit_skips_terminate_when_not_trapping, fun(T) ->
        Self = self(),
        Parent = spawn(fun() -> {ok, S} = gen_server:start_link(?MODULE, {T, ok}, []), Self ! {server, S}, idle() end),
        receive {server, S} -> ok end, t(T, "down ~s", [r(down_after(S, fun() -> exit(Parent, shutdown) end))]) end},
    {gen_server_started_unlinked_takes_its_starters_exit_as_info, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, trap}, []), exit(S, boom),
        t(T, "call ~p", [gen_server:call(S, get)]) end},
    {gen_server_reply_later, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []), t(T, "call ~p", [gen_server:call(S, later)]) end},
    {gen_server_cast_to_a_dead_server_is_fine, fun(T) ->
        {ok, S} = gen_server:start(?MODULE, {T, ok}, []), gen_server:stop(S), t(T, "cast ~p", [gen_server:cast(S, {trace, "lost"})]) end},

    %% --- supervisor ---
    {one_for_one_restarts_only_the_crashed_child, fun(T) ->
        Sup = sup(#{strategy => one_for_one}, [worker(T, a), worker(T, b)]),
        [A, B] = pids(Sup), exit(A, boom), [A2, B2] = pids_when_changed(Sup, [A, B]),
        t(T, "a changed ~p b changed ~p", [A2 /= A, B2 /= B]) end},
    {one_for_all_restarts_every_child, fun(T) ->
        Sup = sup(#{strategy => one_for_all}, [worker(T, a), worker(T, b)]),
        [A, B] = pids(Sup), exit(A, boom), [A2, B2] = pids_when_changed(Sup, [A, B], 2),
        t(T, "a changed ~p b changed ~p", [A2 /= A, B2 /= B]) end},
    {rest_for_one_restarts_the_later_children, fun(T) ->
        Sup = sup(#{strategy => rest_for_one}, [worker(T, a), worker(T, b), worker(T, c)]),
        [A, B, C] = pids(Sup), exit(B, boom), [A2, B2, C2] = pids_when_changed(Sup, [A, B, C], 2),
        t(T, "a changed ~p b changed ~p c changed ~p", [A2 /= A, B2 /= B, C2 /= C]) end},
    {simple_one_for_one_counts_one_spec, fun(T) ->
        Sup = sup(#{strategy => simple_one_for_one}, [#{id => w, start => {?MODULE, start_worker, [T]}}]),
        {ok, _} = supervisor:start_child(Sup, [x]), {ok, _} = supervisor:start_child(Sup, [y]),
        t(T, "count ~w", [supervisor:count_children(Sup)]) end},
    {a_temporary_child_is_not_restarted, fun(T) ->
        Sup = sup(#{}, [(worker(T, a))#{restart => temporary}]),
        [A] = pids(Sup), exit(A, boom), down(A), t(T, "count ~w", [supervisor:count_children(Sup)]) end},
    {a_transient_child_is_restarted_only_after_a_crash, fun(T) ->
        Sup = sup(#{}, [(worker(T, a))#{restart => transient}, (worker(T, b))#{restart => transient}]),
        [A, B] = pids(Sup), gen_server:stop(A), exit(B, boom), [_, _] = pids_when_changed(Sup, [A, B], 1),
        t(T, "children ~w", [[is_pid(P) || P <- pids(Sup)]]) end},
    {a_permanent_child_is_restarted_after_a_normal_exit, fun(T) ->
        Sup = sup(#{}, [worker(T, a)]), [A] = pids(Sup), gen_server:stop(A), [A2] = pids_when_changed(Sup, [A]),
        t(T, "restarted ~p", [A2 /= A]) end},
    {too_many_restarts_stop_the_supervisor, fun(T) ->
        process_flag(trap_exit, true),
        Sup = sup(#{intensity => 1, period => 5}, [worker(T, a)]), [A] = pids(Sup), exit(A, boom),
        [A2] = pids_when_changed(Sup, [A]), exit(A2, boom),
        receive {'EXIT', Sup, R} -> t(T, "supervisor exit ~s", [r(R)]) end end},
    {children_stop_in_reverse_order, fun(T) ->
        process_flag(trap_exit, true),
        Sup = sup(#{}, [trapping(T, a), trapping(T, b), trapping(T, c)]), exit(Sup, shutdown),
        receive {'EXIT', Sup, R} -> t(T, "supervisor exit ~s", [r(R)]) end end},
    {brutal_kill_skips_terminate, fun(T) ->
        process_flag(trap_exit, true),
        Sup = sup(#{}, [(trapping(T, a))#{shutdown => brutal_kill}]), exit(Sup, shutdown),
        receive {'EXIT', Sup, R} -> t(T, "supervisor exit ~s", [r(R)]) end end},
    {a_shutdown_timeout_kills_a_slow_child, fun(T) ->
        process_flag(trap_exit, true),
        Sup = sup(#{}, [#{id => a, start => {gen_server, start_link, [?MODULE, {named(T, a), slow_terminate}, []]}, shutdown => 50}]),
        exit(Sup, shutdown), receive {'EXIT', Sup, R} -> t(T, "supervisor exit ~s", [r(R)]) end end},
    {terminate_and_restart_a_child, fun(T) ->
        Sup = sup(#{}, [worker(T, a)]),
        t(T, "terminate ~p", [supervisor:terminate_child(Sup, a)]), t(T, "children ~w", [[is_pid(P) || P <- pids(Sup)]]),
        {ok, P} = supervisor:restart_child(Sup, a), t(T, "restart ~p", [is_pid(P)]) end},
    {delete_a_running_child_fails, fun(T) ->
        Sup = sup(#{}, [worker(T, a)]), t(T, "delete ~p", [supervisor:delete_child(Sup, a)]),
        ok = supervisor:terminate_child(Sup, a), t(T, "delete ~p", [supervisor:delete_child(Sup, a)]),
        t(T, "count ~w", [supervisor:count_children(Sup)]) end},
    {start_child_with_a_taken_id, fun(T) ->
        Sup = sup(#{}, [worker(T, a)]),
        R = case supervisor:start_child(Sup, worker(T, a)) of {error, {already_started, _}} -> already_started; X -> X end,
        t(T, "start ~p", [R]), ok = supervisor:terminate_child(Sup, a),
        t(T, "start ~p", [supervisor:start_child(Sup, worker(T, a))]) end},
    {restart_a_running_child_fails, fun(T) ->
        Sup = sup(#{}, [worker(T, a)]), t(T, "restart ~p", [supervisor:restart_child(Sup, a)]) end},
    {terminate_an_unknown_child_fails, fun(T) ->
        Sup = sup(#{}, [worker(T, a)]), t(T, "terminate ~p", [supervisor:terminate_child(Sup, b)]) end},
    {nested_supervisors_count_their_kinds, fun(T) ->
        Inner = #{id => inner, start => {supervisor, start_link, [?MODULE, {sup, #{}, [worker(T, b)]}]}, type => supervisor},
        Sup = sup(#{}, [worker(T, a), Inner]), t(T, "count ~w", [supervisor:count_children(Sup)]) end},
    {which_children_lists_ids_and_kinds, fun(T) ->
        Sup = sup(#{}, [worker(T, a), worker(T, b)]),
        t(T, "children ~w", [lists:sort([{Id, Type} || {Id, _, Type, _} <- supervisor:which_children(Sup)])]) end}
].

trapping(T, Id) -> #{id => Id, start => {gen_server, start_link, [?MODULE, {named(T, Id), trap}, []]}}.

pids(Sup) -> [P || {_, P, _, _} <- lists:reverse(supervisor:which_children(Sup))].

%% The children's pids once every one of them is a pid again and at least Changed of them differ from Before.
pids_when_changed(Sup, Before) -> pids_when_changed(Sup, Before, 1).
pids_when_changed(Sup, Before, Changed) ->
    Now = pids(Sup),
    Differ = length([x || {B, N} <- lists:zip(Before, Now), B /= N, is_pid(N)]),
    case Differ >= Changed andalso lists:all(fun(P) -> is_pid(P) orelse P == undefined end, Now) of
        true -> Now;
        false -> receive after 1 -> pids_when_changed(Sup, Before, Changed) end
    end.
