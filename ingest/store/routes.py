"""HTTP transport of the store adapter."""

from fastapi import APIRouter

router = APIRouter()
