"""The tutorial's Flask marketplace: one module-level gRPC channel, the home
page renders three mystery recommendations. A benchmark fixture, not the
product; run with `flask --app marketplace run` (as in the tutorial) or
gunicorn."""

import os

import grpc
from flask import Flask, render_template

from recommendations_pb2 import BookCategory, RecommendationRequest
from recommendations_pb2_grpc import RecommendationsStub

app = Flask(__name__)

channel = grpc.insecure_channel(os.environ.get("RECOMMENDATIONS_ADDR", "127.0.0.1:50051"))
client = RecommendationsStub(channel)


@app.route("/")
def render_homepage():
    request = RecommendationRequest(user_id=1, category=BookCategory.MYSTERY, max_results=3)
    response = client.Recommend(request)
    return render_template("homepage.html", recommendations=response.recommendations)
