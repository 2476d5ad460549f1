"""The framework's ceiling: a trivial Flask endpoint, configured like the product, served the same way.

Kept out of the product so that the product's url_map (deny by default) never has it.
"""
from flask import Flask, jsonify

from config import CONFIGS


def create_hello_app(config_name: str = "production") -> Flask:
    app = Flask(__name__)
    app.config.from_object(CONFIGS[config_name])

    @app.get("/hello")
    def hello():
        return jsonify({"hello": "world"})

    return app
