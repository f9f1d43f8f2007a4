#!/usr/bin/env escript
%% Runs Heirloom's conformance sequences on real ETS. Input: a file of terms {Seed, Type, Ops}.
%% Output: for each sequence a line "seq Seed", then one line per operation with its result printed by ~w.
-mode(compile).

main([File]) ->
    {ok, Sequences} = file:consult(File),
    lists:foreach(fun run/1, Sequences).

run({Seed, Type, Ops}) ->
    io:format("seq ~w~n", [Seed]),
    Tab = ets:new(conformance, [Type, public]),
    lists:foreach(fun(Op) -> io:format("~w~n", [result(Type, Tab, Op)]) end, Ops),
    ets:delete(Tab).

result(Type, Tab, Op) ->
    try canonical(Type, Op, apply_op(Tab, Op))
    catch error:_ -> error
    end.

%% Orders ETS leaves unspecified are sorted, so results compare as multisets.
canonical(ordered_set, _, R) -> R;
canonical(_, {tab2list}, R) -> lists:sort(R);
canonical(_, {select_gt, _}, R) -> lists:sort(R);
canonical(_, {select_reverse_gt, _}, R) -> lists:sort(R);
canonical(_, {range_keys, _, _}, R) -> lists:sort(R);
canonical(_, _, R) -> R.

gt(N) -> [{{'$1', '$2'}, [{'>', '$2', N}], ['$_']}].

apply_op(T, {insert, K, V}) -> ets:insert(T, {K, V});
apply_op(T, {insert_list, L}) -> ets:insert(T, L);
apply_op(T, {insert_new, K, V}) -> ets:insert_new(T, {K, V});
apply_op(T, {insert_new_list, L}) -> ets:insert_new(T, L);
apply_op(T, {lookup, K}) -> ets:lookup(T, K);
apply_op(T, {member, K}) -> ets:member(T, K);
apply_op(T, {take, K}) -> ets:take(T, K);
apply_op(T, {delete, K}) -> ets:delete(T, K);
apply_op(T, {delete_object, K, V}) -> ets:delete_object(T, {K, V});
apply_op(T, {delete_all_objects}) -> ets:delete_all_objects(T);
apply_op(T, {update_counter, K, I}) -> ets:update_counter(T, K, I);
apply_op(T, {update_counter_default, K, I, D}) -> ets:update_counter(T, K, I, {K, D});
apply_op(T, {update_counter_threshold, K, I, Th, S}) -> ets:update_counter(T, K, {2, I, Th, S});
apply_op(T, {select_count_gt, N}) -> ets:select_count(T, [{{'$1', '$2'}, [{'>', '$2', N}], [true]}]);
apply_op(T, {select_gt, N}) -> ets:select(T, gt(N));
apply_op(T, {select_reverse_gt, N}) -> ets:select_reverse(T, gt(N));
apply_op(T, {select_limit_gt, N, L}) ->
    case ets:select(T, gt(N), L) of '$end_of_table' -> []; {R, _} -> R end;
apply_op(T, {select_delete_gt, N}) -> ets:select_delete(T, [{{'$1', '$2'}, [{'>', '$2', N}], [true]}]);
apply_op(T, {select_replace_add, N, D}) ->
    ets:select_replace(T, [{{'$1', '$2'}, [{'>', '$2', N}], [{{'$1', {'+', '$2', D}}}]}]);
apply_op(T, {tab2list}) -> ets:tab2list(T);
apply_op(T, {size}) -> ets:info(T, size);
apply_op(T, {sum}) -> ets:foldl(fun({_, V}, A) -> A + V end, 0, T);
apply_op(T, {first}) -> ets:first(T);
apply_op(T, {last}) -> ets:last(T);
apply_op(T, {next, K}) -> ets:next(T, K);
apply_op(T, {prev, K}) -> ets:prev(T, K);
apply_op(T, {range_keys, From, To}) ->
    ets:select(T, [{{'$1', '$2'}, [{'>=', '$1', From}, {'=<', '$1', To}], ['$1']}]).
