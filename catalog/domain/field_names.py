"""The language of an export's field names: CSV headers and JSON keys as a profile asks for them.

Archives hand exports to people and systems that read German, French, ... headers ("Stichwörter", not
"keywords"). Field names only: the values (captions, keywords, persons) are the archive's own words and
go out as they are. English is the API's own names (GraphQL's). Pure.
"""

from __future__ import annotations

from typing import Any

DEFAULT_LANGUAGE = "en"

# API field name -> the name in each language (a name missing from a language stays as in English).
_NAMES: dict[str, dict[str, str]] = {
    "de": {
        "assetId": "Asset-ID",
        "filename": "Dateiname",
        "mediaType": "Medientyp",
        "width": "Breite",
        "height": "Höhe",
        "embeddedMetadata": "Eingebettete Metadaten",
        "title": "Titel",
        "caption": "Beschreibung",
        "keywords": "Stichwörter",
        "hierarchicalKeywords": "Hierarchische Stichwörter",
        "labels": "Erkannte Begriffe",
        "persons": "Personen",
        "creators": "Urheber",
        "credit": "Bildnachweis",
        "copyright": "Copyright-Vermerk",
        "usageTerms": "Nutzungsbedingungen",
        "city": "Ort",
        "country": "Land",
        "gps": "GPS",
        "latitude": "Breitengrad",
        "longitude": "Längengrad",
        "capturedAt": "Aufnahmedatum",
        "regions": "Bildbereiche",
        "name": "Name",
        "kind": "Art",
        "boundingBox": "Rahmen",
        "left": "Links",
        "top": "Oben",
        "confidence": "Konfidenz",
        "parents": "Oberbegriffe",
        "model": "Modell",
        "modelVersion": "Modellversion",
    },
    "fr": {
        "assetId": "ID de l'actif",
        "filename": "Nom de fichier",
        "mediaType": "Type de média",
        "width": "Largeur",
        "height": "Hauteur",
        "embeddedMetadata": "Métadonnées intégrées",
        "title": "Titre",
        "caption": "Légende",
        "keywords": "Mots-clés",
        "hierarchicalKeywords": "Mots-clés hiérarchiques",
        "labels": "Étiquettes détectées",
        "persons": "Personnes",
        "creators": "Créateurs",
        "credit": "Crédit",
        "copyright": "Mention de copyright",
        "usageTerms": "Conditions d'utilisation",
        "city": "Ville",
        "country": "Pays",
        "gps": "GPS",
        "latitude": "Latitude",
        "longitude": "Longitude",
        "capturedAt": "Date de prise de vue",
        "regions": "Régions",
        "name": "Nom",
        "kind": "Type",
        "boundingBox": "Cadre",
        "left": "Gauche",
        "top": "Haut",
        "confidence": "Confiance",
        "parents": "Termes génériques",
        "model": "Modèle",
        "modelVersion": "Version du modèle",
    },
    "es": {
        "assetId": "ID del recurso",
        "filename": "Nombre de archivo",
        "mediaType": "Tipo de medio",
        "width": "Ancho",
        "height": "Alto",
        "embeddedMetadata": "Metadatos incrustados",
        "title": "Título",
        "caption": "Descripción",
        "keywords": "Palabras clave",
        "hierarchicalKeywords": "Palabras clave jerárquicas",
        "labels": "Etiquetas detectadas",
        "persons": "Personas",
        "creators": "Creadores",
        "credit": "Crédito",
        "copyright": "Aviso de copyright",
        "usageTerms": "Condiciones de uso",
        "city": "Ciudad",
        "country": "País",
        "gps": "GPS",
        "latitude": "Latitud",
        "longitude": "Longitud",
        "capturedAt": "Fecha de captura",
        "regions": "Regiones",
        "name": "Nombre",
        "kind": "Tipo",
        "boundingBox": "Recuadro",
        "left": "Izquierda",
        "top": "Arriba",
        "confidence": "Confianza",
        "parents": "Términos genéricos",
        "model": "Modelo",
        "modelVersion": "Versión del modelo",
    },
    "it": {
        "assetId": "ID risorsa",
        "filename": "Nome file",
        "mediaType": "Tipo di media",
        "width": "Larghezza",
        "height": "Altezza",
        "embeddedMetadata": "Metadati incorporati",
        "title": "Titolo",
        "caption": "Didascalia",
        "keywords": "Parole chiave",
        "hierarchicalKeywords": "Parole chiave gerarchiche",
        "labels": "Etichette rilevate",
        "persons": "Persone",
        "creators": "Autori",
        "credit": "Credito",
        "copyright": "Nota di copyright",
        "usageTerms": "Condizioni d'uso",
        "city": "Città",
        "country": "Paese",
        "gps": "GPS",
        "latitude": "Latitudine",
        "longitude": "Longitudine",
        "capturedAt": "Data di scatto",
        "regions": "Regioni",
        "name": "Nome",
        "kind": "Tipo",
        "boundingBox": "Riquadro",
        "left": "Sinistra",
        "top": "Alto",
        "confidence": "Confidenza",
        "parents": "Termini generici",
        "model": "Modello",
        "modelVersion": "Versione del modello",
    },
    "nl": {
        "assetId": "Asset-ID",
        "filename": "Bestandsnaam",
        "mediaType": "Mediatype",
        "width": "Breedte",
        "height": "Hoogte",
        "embeddedMetadata": "Ingesloten metadata",
        "title": "Titel",
        "caption": "Beschrijving",
        "keywords": "Trefwoorden",
        "hierarchicalKeywords": "Hiërarchische trefwoorden",
        "labels": "Herkende labels",
        "persons": "Personen",
        "creators": "Makers",
        "credit": "Naamsvermelding",
        "copyright": "Copyrightvermelding",
        "usageTerms": "Gebruiksvoorwaarden",
        "city": "Plaats",
        "country": "Land",
        "gps": "GPS",
        "latitude": "Breedtegraad",
        "longitude": "Lengtegraad",
        "capturedAt": "Opnamedatum",
        "regions": "Regio's",
        "name": "Naam",
        "kind": "Soort",
        "boundingBox": "Kader",
        "left": "Links",
        "top": "Boven",
        "confidence": "Betrouwbaarheid",
        "parents": "Bredere termen",
        "model": "Model",
        "modelVersion": "Modelversie",
    },
}
LANGUAGES = (DEFAULT_LANGUAGE, *sorted(_NAMES))


class UnknownLanguage(ValueError):
    pass


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise UnknownLanguage(f"field names come in {', '.join(LANGUAGES)}, not {language!r}")
    return language


def field_name(field: str, language: str) -> str:
    """A field's name in the language (the API's own name in English or when the language has none)."""
    return _NAMES.get(language, {}).get(field, field)


def translated_keys(value: Any, language: str) -> Any:
    """A JSON value with every object key named in the language (values untouched)."""
    if language == DEFAULT_LANGUAGE:
        return value
    if isinstance(value, dict):
        return {field_name(k, language): translated_keys(v, language) for k, v in value.items()}
    if isinstance(value, list):
        return [translated_keys(v, language) for v in value]
    return value
