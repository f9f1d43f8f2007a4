#!/usr/bin/env escript
%% The ETS side of Heirloom's big-table measure. Usage: escript big_table.escript Entries Ops. Prints one line per
%% figure (<name> <value>):
%%   fill_ms            time to insert Entries objects {Key, Value}, keys 1..Entries
%%   update_ns          per update: a random existing key's value replaced by a new value
%%   lookup_ns          per lookup of a random existing key (the value's size summed, so the result is used)
%%   bytes_per_entry    ets:info(T, memory) words times the word size, over Entries, after the fill
%% Values are binaries of 16-64 bytes, random lengths and content; the random choices come from a fixed seed and are
%% made before each timed phase, so no random number is drawn while timing (Heirloom's side does the same with its own
%% generator: the same distributions, not the same draws). Each value is a new binary copied from a pool of random
%% bytes, as Heirloom's side makes a new string from a pool of random characters.
%% Run through `dotnet run -c Release --project bench/Heirloom.Benchmarks -- big-table`, which runs the .NET stores
%% in the same run and prints all of them side by side.
-module(big_table).
-mode(compile).

-define(POOL, 1048576).
-define(MIN_LENGTH, 16).
-define(MAX_LENGTH, 64).

main([EntriesText, OpsText]) ->
    Entries = list_to_integer(EntriesText),
    Ops = list_to_integer(OpsText),
    rand:seed(exsss, {20261124, 17, 42}),
    Pool = pool(),
    Fill = values(Entries, <<>>),
    T = ets:new(t, [set, public]),
    T0 = now_ns(),
    fill(T, Pool, 1, Fill),
    FillNs = now_ns() - T0,
    Bytes = ets:info(T, memory) * erlang:system_info(wordsize),
    Updates = updates(Ops, Entries, <<>>),
    T1 = now_ns(),
    update(T, Pool, Updates),
    UpdateNs = now_ns() - T1,
    Lookups = lookups(Ops, Entries, <<>>),
    T2 = now_ns(),
    Sum = lookup(T, Lookups, 0),
    LookupNs = now_ns() - T2,
    true = Sum > 0,
    print(fill_ms, FillNs / 1.0e6),
    print(update_ns, UpdateNs / Ops),
    print(lookup_ns, LookupNs / Ops),
    print(bytes_per_entry, Bytes / Entries).

print(Name, Value) -> io:format("~s ~.3f~n", [Name, float(Value)]).

now_ns() -> erlang:monotonic_time(nanosecond).

%% Letters and digits, so a value could be printed; a binary of ?POOL random ones.
pool() ->
    Alphabet = <<"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789">>,
    << <<(binary:at(Alphabet, rand:uniform(62) - 1))>> || _ <- lists:seq(1, ?POOL) >>.

%% A value's place in the pool, packed: offset (32 bits) and length (8 bits). The choices are kept in one binary, not
%% a list, so that they do not sit in the process heap that every collection of this process would copy.
value_spec() ->
    Length = ?MIN_LENGTH + rand:uniform(?MAX_LENGTH - ?MIN_LENGTH + 1) - 1,
    Offset = rand:uniform(?POOL - ?MAX_LENGTH) - 1,
    <<Offset:32, Length:8>>.

values(0, Acc) -> Acc;
values(N, Acc) -> values(N - 1, <<Acc/binary, (value_spec())/binary>>).

updates(0, _, Acc) -> Acc;
updates(N, Entries, Acc) -> updates(N - 1, Entries, <<Acc/binary, (rand:uniform(Entries)):64, (value_spec())/binary>>).

lookups(0, _, Acc) -> Acc;
lookups(N, Entries, Acc) -> lookups(N - 1, Entries, <<Acc/binary, (rand:uniform(Entries)):64>>).

value(Pool, Offset, Length) -> binary:copy(binary:part(Pool, Offset, Length)).

fill(T, Pool, K, <<Offset:32, Length:8, Rest/binary>>) ->
    ets:insert(T, {K, value(Pool, Offset, Length)}),
    fill(T, Pool, K + 1, Rest);
fill(_, _, _, <<>>) -> ok.

update(T, Pool, <<K:64, Offset:32, Length:8, Rest/binary>>) ->
    ets:insert(T, {K, value(Pool, Offset, Length)}),
    update(T, Pool, Rest);
update(_, _, <<>>) -> ok.

lookup(T, <<K:64, Rest/binary>>, Sum) ->
    [{_, V}] = ets:lookup(T, K),
    lookup(T, Rest, Sum + byte_size(V));
lookup(_, <<>>, Sum) -> Sum.
