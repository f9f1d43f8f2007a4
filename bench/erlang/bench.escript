#!/usr/bin/env escript
%% The Erlang/OTP side of Heirloom's side-by-side comparison. Prints one line per measure:
%%   <name> <value>
%% where the value is the median over 11 batches, in nanoseconds per operation (bytes for memory).
%% Run through `dotnet run -c Release --project bench/Heirloom.Benchmarks -- compare`, which runs the same
%% measures on Heirloom in the same run and prints both with their ratio.
-mode(compile).

main(Args) ->
    Only = [list_to_atom(A) || A <- Args],
    Measures = [
        {ping_pong_round_trip, fun() -> median(fun ping_pong/1, 200000) end},
        {spawn_exit_reply, fun() -> median(fun spawn_exit/1, 100000) end},
        {spawn_monitor_down, fun() -> median(fun spawn_monitor_down/1, 100000) end},
        {memory_per_idle_process, fun() -> memory_per_process(100000) end}
    ],
    [io:format("~s ~.3f~n", [Name, float(F())]) || {Name, F} <- Measures, Only =:= [] orelse lists:member(Name, Only)],
    ok.

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
