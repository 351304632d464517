"""HTTP transport of the call_centre adapter."""

from fastapi import APIRouter

router = APIRouter()
