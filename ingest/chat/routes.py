"""HTTP transport of the chat adapter."""

from fastapi import APIRouter

router = APIRouter()
