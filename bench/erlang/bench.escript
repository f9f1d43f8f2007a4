#!/usr/bin/env escript
%%! +P 4000000
%% The Erlang/OTP side of Heirloom's side-by-side comparison. Prints one line per measure:
%%   <name> <value>
%% where the value is the median over 11 batches, in nanoseconds per operation (bytes for memory).
%% Run through `dotnet run -c Release --project bench/Heirloom.Benchmarks -- compare`, which runs the same
%% measures on Heirloom in the same run and prints both with their ratio.
-module(bench).
-mode(compile).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).
-define(M, 1000000).

main(Args) ->
    %% Supervisor reports would be printed for every restart; Heirloom's go to a hook nobody prints. Silence them.
    logger:set_primary_config(level, none),
    Only = [list_to_atom(A) || A <- Args],
    Measures = [
        {ping_pong_round_trip, fun() -> median(fun ping_pong/1, 200000) end},
        {ping_pong_2_pairs, fun() -> median(fun(N) -> ping_pong_pairs(2, N) end, 400000) end},
        {ping_pong_8_pairs, fun() -> median(fun(N) -> ping_pong_pairs(8, N) end, 400000) end},
        {skynet_1m, fun() -> skynet() end},
        {spawn_exit_reply, fun() -> median(fun spawn_exit/1, 100000) end},
        {spawn_monitor_down, fun() -> median(fun spawn_monitor_down/1, 100000) end},
        {memory_per_idle_process, fun() -> memory_per_process(100000) end},
        {gen_server_call, fun() -> median(fun gen_server_call/1, 100000) end},
        {restart_latency, fun() -> restart_latency() end},
        {set_insert_1m, fun() -> median5(fun() -> ets_insert(set, shuffled_keys(?M)) end) end},
        {set_lookup_1m_in_order, fun() -> ets_lookup(set, lists:seq(1, ?M)) end},
        {set_lookup_1m_shuffled, fun() -> ets_lookup(set, shuffled_keys(?M)) end},
        {set_lookup_1k, fun() -> ets_lookup_small(1000) end},
        {ordered_set_insert_1m_in_order, fun() -> median5(fun() -> ets_insert(ordered_set, lists:seq(1, ?M)) end) end},
        {ordered_set_insert_1m_shuffled, fun() -> median5(fun() -> ets_insert(ordered_set, shuffled_keys(?M)) end) end},
        {ordered_set_lookup_1m_in_order, fun() -> ets_lookup(ordered_set, lists:seq(1, ?M)) end},
        {ordered_set_lookup_1m_shuffled, fun() -> ets_lookup(ordered_set, shuffled_keys(?M)) end},
        {update_counter_hot_key, fun() -> median(fun update_counter/1, 1000000) end},
        {set_lookup_two_workers_speedup, fun() -> two_worker_speedup() end},
        {memory_per_entry, fun() -> memory_per_entry() end},
        {handoff_latency, fun() -> kazoo_handoff_latency(20) end},
        {chain_1m_kill, fun() -> scale(chain_1m_kill, chain_1m_build, fun chain/1, scale_size("CHAIN_LENGTH")) end},
        {star_1m_links, fun() -> scale(star_1m_links, star_1m_build, fun star/1, scale_size("STAR_SIZE")) end},
        {monitors_1m, fun() -> scale(monitors_1m, monitors_1m_build, fun monitors/1, scale_size("MONITOR_COUNT")) end}
    ],
    [print(Name, F()) || {Name, F} <- Measures, Only =:= [] orelse lists:member(Name, Only)],
    ok.

print(_, Values) when is_list(Values) -> [print(Name, Value) || {Name, Value} <- Values];
print(Name, Value) -> io:format("~s ~.3f~n", [Name, float(Value)]).

median(Fun, N) ->
    _ = Fun(N div 10),
    Times = lists:sort([Fun(N) || _ <- lists:seq(1, 11)]),
    lists:nth(6, Times).

per_op(F, N) ->
    T0 = erlang:monotonic_time(nanosecond),
    F(),
    (erlang:monotonic_time(nanosecond) - T0) / N.

%% Round trip: send to an echo process and wait for its reply.
ping_pong(N) ->
    Echo = spawn(fun Loop() -> receive {From, M} -> From ! M, Loop(); stop -> ok end end),
    T = per_op(fun() -> pp(Echo, N) end, N),
    Echo ! stop,
    T.

pp(_, 0) -> ok;
pp(Echo, N) -> Echo ! {self(), ping}, receive ping -> pp(Echo, N - 1) end.

%% P pairs at once, each a process doing N div P round trips with its own echo process: nanoseconds per message
%% over all pairs (two messages per round trip).
ping_pong_pairs(P, N) ->
    Self = self(),
    Each = N div P,
    T0 = erlang:monotonic_time(nanosecond),
    [spawn(fun() ->
        Echo = spawn(fun Loop() -> receive {From, M} -> From ! M, Loop(); stop -> ok end end),
        pp(Echo, Each),
        Echo ! stop,
        Self ! pair_done
     end) || _ <- lists:seq(1, P)],
    [receive pair_done -> ok end || _ <- lists:seq(1, P)],
    (erlang:monotonic_time(nanosecond) - T0) / (2 * Each * P).

%% Skynet: a million processes spawned as a 10-ary tree, each leaf sending its number, each inner process the sum of
%% its children's; milliseconds until the root's sum arrives, median of three.
skynet() ->
    lists:nth(2, lists:sort([skynet_once() || _ <- lists:seq(1, 3)])).

skynet_once() ->
    Self = self(),
    T0 = erlang:monotonic_time(nanosecond),
    spawn(fun() -> skynet(0, 1000000, Self) end),
    receive Sum -> 499999500000 = Sum end,
    (erlang:monotonic_time(nanosecond) - T0) / 1.0e6.

skynet(Num, 1, Parent) -> Parent ! Num;
skynet(Num, Size, Parent) ->
    Self = self(),
    Child = Size div 10,
    [spawn(fun() -> skynet(Num + I * Child, Child, Self) end) || I <- lists:seq(0, 9)],
    Parent ! skynet_sum(10, 0).

skynet_sum(0, Sum) -> Sum;
skynet_sum(N, Sum) -> receive V -> skynet_sum(N - 1, Sum + V) end.

%% Spawn a process that sends one reply and exits; wait for the reply.
spawn_exit(N) ->
    Self = self(),
    per_op(fun() -> se(Self, N) end, N).

se(_, 0) -> ok;
se(Self, N) -> spawn(fun() -> Self ! done end), receive done -> se(Self, N - 1) end.

%% spawn_monitor a process that exits at once; wait for its 'DOWN'.
spawn_monitor_down(N) -> per_op(fun() -> smd(N) end, N).

smd(0) -> ok;
smd(N) ->
    {_, Ref} = spawn_monitor(fun() -> ok end),
    receive {'DOWN', Ref, process, _, _} -> smd(N - 1) end.

%% Memory of N processes parked in receive, from erlang:memory(processes).
memory_per_process(N) ->
    Self = self(),
    erlang:garbage_collect(),
    Before = erlang:memory(processes),
    Spawner = spawn(fun() ->
        lists:foreach(fun(_) -> spawn_link(fun() -> receive stop -> ok end end) end, lists:seq(1, N)),
        Self ! spawned,
        receive stop -> ok end
    end),
    receive spawned -> ok end,
    After = erlang:memory(processes),
    exit(Spawner, kill),
    (After - Before) / N.

%% gen_server:call round trip to a server that replies at once.
gen_server_call(N) ->
    {ok, Server} = gen_server:start(?MODULE, echo, []),
    T = per_op(fun() -> call_loop(Server, N) end, N),
    gen_server:stop(Server),
    T.

call_loop(_, 0) -> ok;
call_loop(Server, N) -> ping = gen_server:call(Server, ping), call_loop(Server, N - 1).

%% Time from killing a supervised gen_server to its replacement having run init/1.
restart_latency() ->
    Self = self(),
    {ok, Sup} = supervisor:start_link(?MODULE, {sup, Self}),
    unlink(Sup),
    First = receive {started, P} -> P end,
    Times = lists:sort(restart_loop(First, 2000, [])),
    exit(Sup, shutdown),
    [{restart_latency_median, lists:nth(length(Times) div 2, Times)},
     {restart_latency_p99, lists:nth(length(Times) * 99 div 100, Times)}].

restart_loop(_, 0, Acc) -> Acc;
restart_loop(Pid, N, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    exit(Pid, kill),
    receive {started, New} ->
        T = erlang:monotonic_time(nanosecond) - T0,
        restart_loop(New, N - 1, [T | Acc])
    end.

%% One module is both the supervisor and its gen_server child, told apart by init's argument.
init({sup, Notify}) ->
    Child = #{id => worker, start => {gen_server, start_link, [?MODULE, {worker, Notify}, []]}},
    {ok, {#{strategy => one_for_one, intensity => 1000000, period => 1}, [Child]}};
init({kazoo_sup, Notify}) ->
    Child = #{id => kazoo_worker, start => {gen_server, start_link, [?MODULE, {kazoo_worker, Notify}, []]}},
    {ok, {#{strategy => one_for_one, intensity => 1000000, period => 1}, [Child]}};
init({kazoo_worker, Notify}) ->
    register(kazoo_worker, self()),
    {ok, {kazoo_worker, Notify}};
init({worker, Notify}) ->
    Notify ! {started, self()},
    {ok, Notify};
init(echo) ->
    {ok, echo}.

handle_call(Request, _From, State) -> {reply, Request, State}.

handle_cast(_Message, State) -> {noreply, State}.

handle_info({'ETS-TRANSFER', _Tab, _From, _Gift}, {kazoo_worker, Notify} = State) ->
    Notify ! {owned, self()},
    {noreply, State};
handle_info(_Message, State) -> {noreply, State}.

%% ETS tables: {I, I} objects in a public table, as the reference measurements.
shuffled_keys(N) -> [K || {_, K} <- lists:sort([{rand:uniform(), I} || I <- lists:seq(1, N)])].

median5(F) ->
    _ = F(),
    lists:nth(3, lists:sort([F() || _ <- lists:seq(1, 5)])).

ets_insert(Type, Keys) ->
    T = ets:new(t, [Type, public]),
    N = length(Keys),
    R = per_op(fun() -> [ets:insert(T, {K, K}) || K <- Keys], ok end, N),
    ets:delete(T),
    R.

filled(Type, N) ->
    T = ets:new(t, [Type, public]),
    [ets:insert(T, {K, K}) || K <- lists:seq(1, N)],
    T.

ets_lookup(Type, Keys) ->
    T = filled(Type, length(Keys)),
    R = median5(fun() -> per_op(fun() -> lookup_all(T, Keys) end, length(Keys)) end),
    ets:delete(T),
    R.

lookup_all(_, []) -> ok;
lookup_all(T, [K | Ks]) -> [_] = ets:lookup(T, K), lookup_all(T, Ks).

ets_lookup_small(Size) ->
    T = filled(set, Size),
    Keys = lists:append(lists:duplicate(1000, shuffled_keys(Size))),
    R = median5(fun() -> per_op(fun() -> lookup_all(T, Keys) end, length(Keys)) end),
    ets:delete(T),
    R.

update_counter(N) ->
    T = ets:new(t, [set, public]),
    ets:insert(T, {hot, 0}),
    R = per_op(fun() -> uc(T, N) end, N),
    ets:delete(T),
    R.

uc(_, 0) -> ok;
uc(T, N) -> ets:update_counter(T, hot, 1), uc(T, N - 1).

%% Aggregate lookup throughput of two processes on one public set, over that of one.
two_worker_speedup() ->
    T = filled(set, ?M),
    Keys = shuffled_keys(?M),
    One = median5(fun() -> workers(T, Keys, 1) end),
    Two = median5(fun() -> workers(T, Keys, 2) end),
    ets:delete(T),
    One / Two * 2.

workers(T, Keys, Count) ->
    Self = self(),
    T0 = erlang:monotonic_time(nanosecond),
    [spawn(fun() -> lookup_all(T, Keys), Self ! done end) || _ <- lists:seq(1, Count)],
    [receive done -> ok end || _ <- lists:seq(1, Count)],
    erlang:monotonic_time(nanosecond) - T0.

memory_per_entry() ->
    T = filled(set, ?M),
    Words = ets:info(T, memory),
    ets:delete(T),
    Words * erlang:system_info(wordsize) / ?M.

%% KAZOO's kazoo_etsmgr_srv, reduced to what the hand-off does: create the table, be its heir, poll find_me
%% (whereis) every 250 ms until it returns a pid, link to it and give the table away; on ETS-TRANSFER, start again.
kazoo_manager() ->
    spawn(fun() ->
        process_flag(trap_exit, true),
        Tab = ets:new(kazoo_table, [set, protected]),
        ets:setopts(Tab, {heir, self(), ok}),
        kazoo_find(Tab)
    end).

kazoo_find(Tab) ->
    case whereis(kazoo_worker) of
        undefined -> timer:sleep(250), kazoo_find(Tab);
        Pid -> link(Pid), ets:give_away(Tab, Pid, ok), kazoo_wait(Tab)
    end.

kazoo_wait(Tab) ->
    receive
        {'ETS-TRANSFER', Tab, _, _} -> kazoo_find(Tab);
        {'EXIT', _, _} -> kazoo_wait(Tab)
    end.

%% Time from killing the worker to its replacement owning the table.
kazoo_handoff_latency(Samples) ->
    Self = self(),
    {ok, Sup} = supervisor:start_link(?MODULE, {kazoo_sup, Self}),
    unlink(Sup),
    Manager = kazoo_manager(),
    receive {owned, _} -> ok end,
    Times = lists:sort([kazoo_one_handoff() || _ <- lists:seq(1, Samples)]),
    exit(Manager, kill),
    exit(Sup, shutdown),
    [{handoff_latency_median, lists:nth(length(Times) div 2, Times)},
     {handoff_latency_p99, lists:nth(max(1, length(Times) * 99 div 100), Times)}].

kazoo_one_handoff() ->
    T0 = erlang:monotonic_time(nanosecond),
    exit(whereis(kazoo_worker), kill),
    receive {owned, _} -> erlang:monotonic_time(nanosecond) - T0 end.

%% Process-scale measures: N processes (a million unless the environment variable named sets N; Heirloom's side reads
%% the same one), three runs, medians in milliseconds. Each prints the death-propagation time under the measure's own
%% name and, under a second name, the time to build the processes.
scale_size(Var) ->
    case os:getenv(Var) of
        false -> ?M;
        Value -> list_to_integer(Value)
    end.

scale(Name, BuildName, Run, N) ->
    Limit = erlang:system_info(process_limit),
    %% The default limit (262,144) is below a million; the %%! line raises it. Checked, so that a run stops rather than
    %% fail to spawn: the N processes, the node's own and the measurer must fit.
    Limit >= N + 1000 orelse error({process_limit_too_low, Limit, N}),
    Runs = [Run(N) || _ <- lists:seq(1, 3)],
    Kill = lists:nth(2, lists:sort([K || {K, _} <- Runs])),
    Build = lists:nth(2, lists:sort([B || {_, B} <- Runs])),
    [{Name, Kill}, {BuildName, Build}].

ms(Nanoseconds) -> Nanoseconds / 1.0e6.

now_ns() -> erlang:monotonic_time(nanosecond).

idle() -> receive stop -> ok end.

%% Waits until no process is ready to run, then 100 ms more, so that every process built is parked in its receive
%% (and every monitor request handled) before the timed part starts.
wait_quiet() ->
    case erlang:statistics(total_run_queue_lengths_all) of
        0 -> timer:sleep(100);
        _ -> timer:sleep(10), wait_quiet()
    end.

%% Waits until the node has no more processes than Base. Polled every millisecond with a sleep, not a busy loop, so
%% that the poller does not take a scheduler from the dying processes on a two-core machine; 1 ms of resolution.
wait_count(Base) ->
    case erlang:system_info(process_count) =< Base of
        true -> ok;
        false -> timer:sleep(1), wait_count(Base)
    end.

%% A chain of N processes, each spawn_linking the next and then waiting in a receive; the head is killed. The exit
%% travels head to tail, and a process of the chain dies only of its predecessor's exit signal, so the tail's 'DOWN'
%% (from a monitor set once the chain is built) means every process of the chain is dead: one monitor observes it
%% without adding work per process. The count of processes is checked afterwards, untimed.
chain(N) ->
    Self = self(),
    Base = erlang:system_info(process_count),
    T0 = now_ns(),
    Head = spawn(fun() -> chain_link(N - 1, Self) end),
    Tail = receive {chain_tail, Pid} -> Pid end,
    T1 = now_ns(),
    wait_quiet(),
    Ref = monitor(process, Tail),
    T2 = now_ns(),
    exit(Head, kill),
    receive {'DOWN', Ref, process, Tail, killed} -> ok end,
    T3 = now_ns(),
    wait_count(Base),
    {ms(T3 - T2), ms(T1 - T0)}.

chain_link(0, Top) -> Top ! {chain_tail, self()}, idle();
chain_link(K, Top) -> spawn_link(fun() -> chain_link(K - 1, Top) end), idle().

%% One hub process spawn_linking N processes that wait in a receive; the hub is killed. No process of the star dies
%% last by construction, and a monitor on each would add N 'DOWN's to the time, so "all dead" is the node's process
%% count back to what it was before the hub was spawned.
star(N) ->
    Self = self(),
    Base = erlang:system_info(process_count),
    T0 = now_ns(),
    Hub = spawn(fun() -> star_spawn(N), Self ! star_built, idle() end),
    receive star_built -> ok end,
    T1 = now_ns(),
    wait_quiet(),
    T2 = now_ns(),
    exit(Hub, kill),
    wait_count(Base),
    T3 = now_ns(),
    {ms(T3 - T2), ms(T1 - T0)}.

star_spawn(0) -> ok;
star_spawn(K) -> spawn_link(fun idle/0), star_spawn(K - 1).

%% One target monitored by N processes, each waiting for its 'DOWN' and exiting once it has it; the target is killed.
%% "All Downs delivered" is every watcher gone: the node's process count back to what it was before the target was
%% spawned. Each watcher reports once its monitor is set (monitor/2 returns before the target has handled the
%% request, hence also the wait for a quiet node).
monitors(N) ->
    %% This process takes a million 'watching' messages while it spawns: with the queue on its heap, each of its
    %% collections copies the queue, and building grows quadratically (400,000 watchers took 16 s against 6.5 s).
    process_flag(message_queue_data, off_heap),
    Self = self(),
    Base = erlang:system_info(process_count),
    Target = spawn(fun idle/0),
    T0 = now_ns(),
    watchers(N, Target, Self),
    [receive watching -> ok end || _ <- lists:seq(1, N)],
    T1 = now_ns(),
    wait_quiet(),
    T2 = now_ns(),
    exit(Target, kill),
    wait_count(Base),
    T3 = now_ns(),
    {ms(T3 - T2), ms(T1 - T0)}.

watchers(0, _, _) -> ok;
watchers(K, Target, Top) ->
    spawn(fun() ->
        Ref = monitor(process, Target),
        Top ! watching,
        receive {'DOWN', Ref, process, Target, _} -> ok end
    end),
    watchers(K - 1, Target, Top).
