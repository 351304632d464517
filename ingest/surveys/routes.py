"""HTTP transport of the surveys adapter."""

from fastapi import APIRouter

router = APIRouter()
