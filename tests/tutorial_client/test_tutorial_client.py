"""The tutorial's own Python client, generated from the unchanged proto,
against the Rust server: the Rust port must keep the tutorial's API working."""

import grpc
import pytest


def request(pb2, category, max_results):
    return pb2.RecommendationRequest(user_id=1, category=category, max_results=max_results)


@pytest.mark.parametrize(
    "category_name, ids",
    [("MYSTERY", {1, 2, 3}), ("SCIENCE_FICTION", {4, 5, 6}), ("SELF_HELP", {7, 8, 9})],
)
def test_each_category_returns_its_three_books(tutorial_stubs, client, category_name, ids):
    pb2, _ = tutorial_stubs
    category = pb2.BookCategory.Value(category_name)
    response = client.Recommend(request(pb2, category, 3))
    assert {book.id for book in response.recommendations} == ids


@pytest.mark.parametrize("max_results", [1, 2, 3, 4, 10])
def test_answers_are_distinct_and_capped(tutorial_stubs, client, max_results):
    pb2, _ = tutorial_stubs
    response = client.Recommend(request(pb2, pb2.MYSTERY, max_results))
    ids = [book.id for book in response.recommendations]
    assert len(ids) == min(max_results, 3)
    assert len(set(ids)) == len(ids)


def test_unknown_category_is_not_found(tutorial_stubs, client):
    pb2, _ = tutorial_stubs
    with pytest.raises(grpc.RpcError) as error:
        client.Recommend(request(pb2, 99, 3))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert error.value.details() == "category not found"


def test_negative_max_results_is_invalid_argument(tutorial_stubs, client):
    pb2, _ = tutorial_stubs
    with pytest.raises(grpc.RpcError) as error:
        client.Recommend(request(pb2, pb2.MYSTERY, -1))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_results" in error.value.details()


def test_i32_max_results_gets_a_safe_answer(tutorial_stubs, client):
    pb2, _ = tutorial_stubs
    with pytest.raises(grpc.RpcError) as error:
        client.Recommend(request(pb2, pb2.MYSTERY, 2**31 - 1))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # And the server still answers afterwards.
    assert len(client.Recommend(request(pb2, pb2.MYSTERY, 3)).recommendations) == 3
